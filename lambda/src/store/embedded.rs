//! The embedded store for local development: todos in a redb file (crash-safe, each acknowledged write
//! committed to disk before `put`/`delete` return), or in memory for throwaway runs.
//!
//! Two tables, one per kind of [`Owner`]: `todos` (id → todo) holds the shared list of mode `none`,
//! exactly as files written before sign-in existed hold it; `owned_todos` ((owner, id) → todo) holds
//! the signed-in users' todos, so two users' todos with the same id are two rows.
//!
//! Reads are served from an in-memory copy of both tables, loaded when the file is opened and updated
//! after each commit, so listing never decodes from disk: the dev server's reads stay fast under load.
//! The file is the source of truth; the copy holds what a laptop's todo lists hold (megabytes).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{Page, StoreError, TodoStore};
use crate::domain::{Owner, Todo};

/// id → the todo as JSON: [`Owner::Everyone`]'s list.
const TODOS: TableDefinition<&str, &[u8]> = TableDefinition::new("todos");
/// (owner's `sub`, id) → the todo as JSON: every [`Owner::User`]'s todos.
const OWNED_TODOS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("owned_todos");

/// The in-memory copy: each owner's todos by id.
type Cache = HashMap<Owner, BTreeMap<String, Arc<Todo>>>;

/// A [`TodoStore`] on an embedded redb database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// The committed tables, by owner and id.
    cache: Arc<RwLock<Cache>>,
    /// Orders commit + cache update, so the copy applies writes in commit order.
    writer: Arc<Mutex<()>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

/// One write, as the file and the in-memory copy both apply it.
enum Change {
    Put(Arc<Todo>, Vec<u8>),
    Delete(String),
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
        // A file from before sign-in gains the (empty) second table; its `todos` table is untouched.
        txn.open_table(OWNED_TODOS).map_err(|e| StoreError::unavailable("create table", e))?;
        txn.commit().map_err(|e| StoreError::unavailable("commit", e))?;
        let all = load_file(&db)?;
        Ok(EmbeddedStore { db: Arc::new(db), cache: Arc::new(RwLock::new(all)), writer: Arc::default() })
    }

    /// Commits `change` to `owner`'s table in the file, then applies it to the in-memory copy, in
    /// commit order.
    fn write_blocking(&self, owner: &Owner, change: Change) -> Result<(), StoreError> {
        let _order = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let txn = self.db.begin_write().map_err(|e| StoreError::unavailable("begin write", e))?;
        write_change(&txn, owner, &change)?;
        txn.commit().map_err(|e| StoreError::unavailable("commit", e))?;
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match change {
            Change::Put(todo, _) => {
                cache.entry(owner.clone()).or_default().insert(todo.id.clone(), todo);
            }
            Change::Delete(id) => {
                if let Some(todos) = cache.get_mut(owner) {
                    todos.remove(&id);
                    if todos.is_empty() {
                        cache.remove(owner);
                    }
                }
            }
        }
        Ok(())
    }

    fn list_cached(&self, owner: &Owner, start_after: Option<&str>, limit: usize) -> Page {
        let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(todos) = cache.get(owner) else {
            return Page::default();
        };
        let lower = start_after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = todos.range::<str, _>((lower, Bound::Unbounded));
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

/// Applies `change` to the table that holds `owner`'s todos, inside `txn`.
fn write_change(txn: &WriteTransaction, owner: &Owner, change: &Change) -> Result<(), StoreError> {
    let written = match owner {
        Owner::Everyone => {
            let mut table = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
            match change {
                Change::Put(todo, json) => table.insert(todo.id.as_str(), json.as_slice()).map(drop),
                Change::Delete(id) => table.remove(id.as_str()).map(drop),
            }
        }
        Owner::User(user) => {
            let mut table = txn.open_table(OWNED_TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
            match change {
                Change::Put(todo, json) => table.insert((user.as_str(), todo.id.as_str()), json.as_slice()).map(drop),
                Change::Delete(id) => table.remove((user.as_str(), id.as_str())).map(drop),
            }
        }
    };
    written.map_err(|e| StoreError::unavailable("write", e))
}

/// Every todo in the file, by owner and id: the in-memory copy's starting point.
fn load_file(db: &Database) -> Result<Cache, StoreError> {
    let txn = db.begin_read().map_err(|e| StoreError::unavailable("begin read", e))?;
    let mut all = Cache::new();
    let shared = txn.open_table(TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
    for entry in shared.iter().map_err(|e| StoreError::unavailable("scan", e))? {
        let (key, value) = entry.map_err(|e| StoreError::unavailable("scan", e))?;
        let todo = decode(key.value(), value.value())?;
        all.entry(Owner::Everyone).or_default().insert(todo.id.clone(), Arc::new(todo));
    }
    let owned = txn.open_table(OWNED_TODOS).map_err(|e| StoreError::unavailable("open table", e))?;
    for entry in owned.iter().map_err(|e| StoreError::unavailable("scan", e))? {
        let (key, value) = entry.map_err(|e| StoreError::unavailable("scan", e))?;
        let (user, id) = key.value();
        let todo = decode(id, value.value())?;
        all.entry(Owner::User(user.to_owned())).or_default().insert(todo.id.clone(), Arc::new(todo));
    }
    Ok(all)
}

fn decode(id: &str, json: &[u8]) -> Result<Todo, StoreError> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(format!("item {id}: {e}")))
}

#[async_trait]
impl TodoStore for EmbeddedStore {
    async fn list(&self, owner: &Owner, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        // Served from memory: never waits for a commit's fsync.
        Ok(self.list_cached(owner, start_after, limit))
    }

    async fn put(&self, owner: &Owner, todo: &Todo) -> Result<(), StoreError> {
        let json = serde_json::to_vec(todo).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let change = Change::Put(Arc::new(todo.clone()), json);
        let owner = owner.clone();
        self.blocking(move |s| s.write_blocking(&owner, change)).await
    }

    async fn delete(&self, owner: &Owner, id: &str) -> Result<(), StoreError> {
        let change = Change::Delete(id.to_owned());
        let owner = owner.clone();
        self.blocking(move |s| s.write_blocking(&owner, change)).await
    }
}
