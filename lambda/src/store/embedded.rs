//! The embedded store for local development: todos in a redb file (crash-safe, each acknowledged write
//! committed to disk before `put`/`delete` return), or in memory for throwaway runs.
//!
//! Reads are served from an in-memory copy of the table, loaded when the file is opened and updated
//! after each commit, so listing never decodes from disk: the dev server's reads stay fast under load.
//! The file is the source of truth; the copy holds what a laptop's todo list holds (megabytes).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Page, StoreError, TodoStore};
use crate::domain::Todo;

/// id → the todo as JSON.
const TODOS: TableDefinition<&str, &[u8]> = TableDefinition::new("todos");

/// A [`TodoStore`] on an embedded redb database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// The committed table, by id.
    cache: Arc<RwLock<BTreeMap<String, Arc<Todo>>>>,
    /// Orders commit + cache update, so the copy applies writes in commit order.
    writer: Arc<Mutex<()>>,
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
        let all = load_file(&db)?;
        Ok(EmbeddedStore { db: Arc::new(db), cache: Arc::new(RwLock::new(all)), writer: Arc::default() })
    }

    /// Commits `op` to the file, then applies `apply` to the in-memory copy, in commit order.
    fn write_blocking(
        &self,
        op: impl FnOnce(&mut redb::Table<'_, &str, &[u8]>) -> Result<(), redb::StorageError>,
        apply: impl FnOnce(&mut BTreeMap<String, Arc<Todo>>),
    ) -> Result<(), StoreError> {
        let _order = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let txn = self.db.begin_write().map_err(|e| StoreError::unavailable("begin write", e))?;
        {
            let mut table = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
            op(&mut table).map_err(|e| StoreError::unavailable("write", e))?;
        }
        txn.commit().map_err(|e| StoreError::unavailable("commit", e))?;
        apply(&mut self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner));
        Ok(())
    }

    fn list_cached(&self, start_after: Option<&str>, limit: usize) -> Page {
        let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lower = start_after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = cache.range::<str, _>((lower, Bound::Unbounded));
        let todos: Vec<Arc<Todo>> = range.by_ref().take(limit).map(|(_, t)| Arc::clone(t)).collect();
        let more = range.next().is_some();
        let last_key = if more { todos.last().map(|t| t.id.clone()) } else { None };
        Page { todos, last_key }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(EmbeddedStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this)).await.map_err(|e| StoreError::unavailable("store task", e))?
    }
}

/// Every todo in the file, by id: the in-memory copy's starting point.
fn load_file(db: &Database) -> Result<BTreeMap<String, Arc<Todo>>, StoreError> {
    let txn = db.begin_read().map_err(|e| StoreError::unavailable("begin read", e))?;
    let table = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
    let mut all = BTreeMap::new();
    for entry in table.iter().map_err(|e| StoreError::unavailable("scan", e))? {
        let (key, value) = entry.map_err(|e| StoreError::unavailable("scan", e))?;
        let todo: Todo = serde_json::from_slice(value.value())
            .map_err(|e| StoreError::Corrupt(format!("item {}: {e}", key.value())))?;
        all.insert(todo.id.clone(), Arc::new(todo));
    }
    Ok(all)
}

#[async_trait]
impl TodoStore for EmbeddedStore {
    async fn list(&self, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        // Served from memory: never waits for a commit's fsync.
        Ok(self.list_cached(start_after, limit))
    }

    async fn put(&self, todo: &Todo) -> Result<(), StoreError> {
        let todo = todo.clone();
        let json = serde_json::to_vec(&todo).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = todo.id.clone();
        self.blocking(move |s| {
            s.write_blocking(
                |t| t.insert(id.as_str(), json.as_slice()).map(drop),
                |cache| {
                    cache.insert(todo.id.clone(), Arc::new(todo));
                },
            )
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.blocking(move |s| {
            s.write_blocking(
                |t| t.remove(id.as_str()).map(drop),
                |cache| {
                    cache.remove(&id);
                },
            )
        })
        .await
    }
}
