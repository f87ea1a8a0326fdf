//! The embedded store for local development: todos in a redb file (crash-safe, each acknowledged write
//! committed to disk before `put`/`delete` return), or in memory for throwaway runs.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, TableDefinition};

use super::{Page, StoreError, TodoStore};
use crate::domain::Todo;

/// id → the todo as JSON.
const TODOS: TableDefinition<&str, &[u8]> = TableDefinition::new("todos");

/// A [`TodoStore`] on an embedded redb database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::unavailable("create data directory", e))?;
        }
        let db = Database::create(path).map_err(|e| StoreError::unavailable("open database file", e))?;
        Self::init(db)
    }

    /// A store that lives in memory only and is gone when the process ends.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::unavailable("create in-memory database", e))?;
        Self::init(db)
    }

    fn init(db: Database) -> Result<Self, StoreError> {
        let txn = db.begin_write().map_err(|e| StoreError::unavailable("begin write", e))?;
        txn.open_table(TODOS).map_err(|e| StoreError::unavailable("create table", e))?;
        txn.commit().map_err(|e| StoreError::unavailable("commit", e))?;
        Ok(EmbeddedStore { db: Arc::new(db) })
    }

    fn list_blocking(&self, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        let txn = self.db.begin_read().map_err(|e| StoreError::unavailable("begin read", e))?;
        let table = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
        let lower = start_after.map_or(Bound::Unbounded, Bound::Excluded);
        let range = table.range::<&str>((lower, Bound::Unbounded)).map_err(|e| StoreError::unavailable("scan", e))?;
        let mut page = Page::default();
        for entry in range {
            let (key, value) = entry.map_err(|e| StoreError::unavailable("scan", e))?;
            if page.todos.len() == limit {
                // Only now do we know that more follow.
                page.last_key = page.todos.last().map(|t| t.id.clone());
                break;
            }
            let todo: Todo = serde_json::from_slice(value.value())
                .map_err(|e| StoreError::Corrupt(format!("item {}: {e}", key.value())))?;
            page.todos.push(todo);
        }
        Ok(page)
    }

    fn write_blocking(
        &self,
        op: impl FnOnce(&mut redb::Table<'_, &str, &[u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| StoreError::unavailable("begin write", e))?;
        {
            let mut table = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
            op(&mut table).map_err(|e| StoreError::unavailable("write", e))?;
        }
        txn.commit().map_err(|e| StoreError::unavailable("commit", e))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(EmbeddedStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this)).await.map_err(|e| StoreError::unavailable("store task", e))?
    }
}

#[async_trait]
impl TodoStore for EmbeddedStore {
    async fn list(&self, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        // Reads never wait for the disk's fsync and are quick: run them on the caller's thread.
        self.list_blocking(start_after, limit)
    }

    async fn put(&self, todo: &Todo) -> Result<(), StoreError> {
        let id = todo.id.clone();
        let json = serde_json::to_vec(todo).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.blocking(move |s| s.write_blocking(|t| t.insert(id.as_str(), json.as_slice()).map(drop))).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.blocking(move |s| s.write_blocking(|t| t.remove(id.as_str()).map(drop))).await
    }
}
