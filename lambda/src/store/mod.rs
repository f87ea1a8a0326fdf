//! Where todos live: the [`TodoStore`] trait and its two implementations, [`DynamoStore`] (AWS) and
//! [`EmbeddedStore`] (a durable file, or memory, for local development).
//!
//! Both keep todos in the order of a cursor key so that `list` pages through them: a page ends at
//! `last_key`, and the next page starts after it.
//!
//! Every call names an [`Owner`]: [`Owner::Everyone`] is the one shared list of mode `none` (stored
//! exactly as before sign-in existed), [`Owner::User`] the todos of one signed-in user. A call for one
//! owner never reads, lists past or writes another owner's todos, even where the ids are equal; a
//! cursor key is a position inside the caller's own todos only.

mod dynamodb;
mod embedded;
mod sigv4;

pub use dynamodb::{DynamoStore, dynamodb_sdk_config, https_client, lambda_client, sdk_config_loader};
pub use embedded::EmbeddedStore;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Owner, Todo};

/// A store failure. The HTTP layer answers [`StoreError::Unavailable`] with 503 and
/// [`StoreError::Corrupt`] with 500; the source is logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached, timed out, or refused the request (throttling included).
    #[error("store unavailable: {context}")]
    Unavailable {
        /// What the store was doing.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The backend answered, but with data this service cannot read.
    #[error("store returned unreadable data: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn unavailable(context: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable { context, source: Box::new(source) }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The todos of this page, in store order (shared: a store that keeps todos in memory hands out
    /// references, not copies).
    pub todos: Vec<Arc<Todo>>,
    /// Where the listing stopped, when more items may follow: pass it as `start_after` to continue.
    pub last_key: Option<String>,
}

/// Storage of todos. Implementations must be safe to share between concurrent requests.
#[async_trait]
pub trait TodoStore: Send + Sync {
    /// Up to `limit` of `owner`'s todos after the key `start_after` (from the beginning when `None`). A
    /// page may hold fewer than `limit` todos and still have a `last_key` (DynamoDB stops at 1 MB); only a
    /// page with `last_key == None` is the end.
    async fn list(&self, owner: &Owner, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError>;
    /// Inserts or replaces `owner`'s todo with `todo.id`. Durable when it returns `Ok`.
    async fn put(&self, owner: &Owner, todo: &Todo) -> Result<(), StoreError>;
    /// Deletes `owner`'s todo with `id`; deleting a missing todo succeeds.
    async fn delete(&self, owner: &Owner, id: &str) -> Result<(), StoreError>;
}
