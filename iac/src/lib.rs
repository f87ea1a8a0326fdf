//! `iac`: the deploy crate of the todos API — our own small, Pulumi-like engine.
//!
//! The stack ([`stack::declare`]) is ordinary Rust code that declares typed resources and wires one
//! resource's outputs into another's inputs; the [`engine`] turns those links into a dependency graph,
//! reads the live AWS state (the only state there is: no state file), diffs it against the declaration
//! with each resource's pure `diff`, and applies, previews or destroys. The CLI (`src/main.rs`,
//! [`cli`]) is a thin layer over this library.
//!
//! It is not a general-purpose IaC tool: it knows the resource kinds this API needs (nine, and four more for sign-in).

pub mod aws;
pub mod aws_error;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod logs;
pub mod ops;
pub mod outputs;
pub mod report;
pub mod resources;
pub mod smoke;
pub mod stack;

pub use error::IacError;
