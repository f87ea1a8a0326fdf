//! The todos API: a domain ([`domain`]), one route table and CORS setting ([`routes`]), handlers and
//! their dispatch ([`api`]), the application that holds the store and the limits ([`App`]), storage
//! behind a trait ([`store`]), and the two ways requests arrive ([`entrypoints`]: Lambda events and the
//! local dev server).
//!
//! The binaries (`bootstrap` for Lambda, `dev-server` for a laptop) only wire these together.

pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod entrypoints;
pub mod store;
pub mod telemetry;

/// The route table and CORS setting, from the dependency-free `todos-routes` crate (which the deploy
/// crate uses too, without compiling this one).
pub use todos_routes as routes;

pub use api::{ApiConfig, ApiRequest, ApiResponse};
pub use app::App;
pub use domain::{Owner, Priority, Todo};
pub use store::{DynamoStore, EmbeddedStore, StoreError, TodoStore};
