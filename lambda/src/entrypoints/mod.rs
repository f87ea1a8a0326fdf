//! The two ways requests arrive: as API Gateway v2 events in Lambda ([`lambda`]) and over HTTP on a
//! laptop ([`dev_server`]). Each converts once into [`crate::ApiRequest`] and once out of
//! [`crate::ApiResponse`]; both end in [`crate::App`].

pub mod dev_server;
pub mod lambda;
