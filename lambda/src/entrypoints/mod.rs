//! The two ways requests arrive: as API Gateway v2 events in Lambda ([`lambda`]) and over HTTP on a
//! laptop ([`dev_server`], which turns each request into the same event). Both end in [`crate::App`].

pub mod dev_server;
pub mod lambda;
