//! One module per resource kind (the nine of the open API, plus the JWT authorizer and Cognito's
//! user pool, app client and domain for sign-in). Each has a declared type implementing the engine's
//! [`crate::engine::Resource`] contract (a pure `diff` against the live state, effectful `read` /
//! `apply`) and a live-state type implementing [`crate::engine::State`] (`outputs`, `delete`): what a
//! kind does is in those two impls and the helpers beside them.
//!
//! Adding a kind: a new file here implementing both traits (and its `pub mod` line), then one
//! `s.add(...)` in [`crate::stack::declare`]. Nothing in the engine changes.

pub mod authorizer;
pub mod function;
pub mod http_api;
pub mod integration;
pub mod log_group;
pub mod permission;
pub mod role;
pub mod route;
pub mod stage;
pub mod table;
pub mod user_pool;
pub mod user_pool_client;
pub mod user_pool_domain;

pub use crate::engine::{Ownership, Tags};

/// Account and region a stack is deployed to (for ARNs that are known before creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
    /// ARN partition.
    pub partition: String,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn tags() -> Tags {
        Tags::from([
            ("managed-by".to_owned(), "todos-iac".to_owned()),
            ("project".to_owned(), "todos".to_owned()),
            ("stack".to_owned(), "dev".to_owned()),
        ])
    }

    pub(crate) fn target() -> Target {
        Target { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() }
    }
}
