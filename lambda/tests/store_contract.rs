//! One contract suite for every `TodoStore`, run unchanged against the embedded store (a redb file in a
//! temporary directory) and DynamoDB (dynalite, started by the suite), plus the few behaviours that
//! belong to one store only.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use support::{fresh_table, new_id, raw_items};
use todos::store::Page;
use todos::{DynamoStore, EmbeddedStore, Priority, Todo, TodoStore};

fn todo(description: &str, priority: Priority, due: Option<&str>) -> Todo {
    Todo { id: new_id(), description: description.to_owned(), priority, due_date: due.map(str::to_owned) }
}

/// Reads every page; asserts that no todo comes twice.
async fn list_all(store: &dyn TodoStore, page_size: usize) -> (Vec<Todo>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut start: Option<String> = None;
    loop {
        let Page { todos, last_key } = store.list(start.as_deref(), page_size).await.expect("list");
        pages += 1;
        assert!(todos.len() <= page_size, "page larger than asked for");
        all.extend(todos.into_iter().map(Arc::unwrap_or_clone));
        match last_key {
            Some(k) => start = Some(k),
            None => break,
        }
        assert!(pages < 100_000, "listing does not end");
    }
    let ids: HashSet<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "a todo was listed twice");
    (all, pages)
}

fn by_id(todos: Vec<Todo>) -> BTreeMap<String, Todo> {
    todos.into_iter().map(|t| (t.id.clone(), t)).collect()
}

async fn seed(store: Arc<dyn TodoStore>, todos: Vec<Todo>) {
    let mut set = tokio::task::JoinSet::new();
    for chunk in todos.chunks(todos.len().div_ceil(16).max(1)) {
        let store = store.clone();
        let chunk = chunk.to_vec();
        set.spawn(async move {
            for t in chunk {
                store.put(&t).await.expect("put");
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("seeding task");
    }
}

// ---- the contract --------------------------------------------------------------------------------

async fn put_then_list_returns_the_todo_exactly(store: Arc<dyn TodoStore>) {
    let a = todo("buy milk", Priority::High, Some("2024-02-29T07:30"));
    let b = todo("ünïcødé ✓ \"quoted\" \\ and\nnewline", Priority::Low, None);
    store.put(&a).await.unwrap();
    store.put(&b).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(by_id(all), by_id(vec![a, b]));
}

async fn put_with_an_existing_id_replaces_the_todo(store: Arc<dyn TodoStore>) {
    let mut a = todo("first", Priority::Normal, Some("2030-01-01"));
    store.put(&a).await.unwrap();
    a.description = "second".into();
    a.priority = Priority::High;
    a.due_date = None;
    store.put(&a).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(all, vec![a]);
}

async fn delete_removes_the_todo_and_is_idempotent(store: Arc<dyn TodoStore>) {
    let a = todo("keep", Priority::Low, None);
    let b = todo("drop", Priority::Low, None);
    store.put(&a).await.unwrap();
    store.put(&b).await.unwrap();
    store.delete(&b.id).await.unwrap();
    store.delete(&b.id).await.unwrap();
    store.delete(&new_id()).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(all, vec![a]);
}

async fn due_dates_round_trip_byte_for_byte(store: Arc<dyn TodoStore>) {
    let shapes = ["2024-02-29", "2024-02-29T07:30", "2024-02-29T07:30:00"];
    let todos: Vec<_> = shapes.iter().map(|d| todo("d", Priority::Normal, Some(d))).collect();
    for t in &todos {
        store.put(t).await.unwrap();
    }
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(by_id(all), by_id(todos));
}

async fn paging_with_a_limit_returns_every_todo_once(store: Arc<dyn TodoStore>) {
    let todos: Vec<_> = (0..53).map(|i| todo(&format!("item {i}"), Priority::Normal, None)).collect();
    seed(store.clone(), todos.clone()).await;
    let (all, pages) = list_all(store.as_ref(), 7).await;
    assert!(pages >= 8, "53 todos in pages of 7 took {pages} pages");
    assert_eq!(by_id(all), by_id(todos));
}

async fn a_table_larger_than_one_scan_page_lists_completely(store: Arc<dyn TodoStore>) {
    // 2,500 todos of ~600 bytes: about 1.5 MB, more than DynamoDB returns from one Scan (1 MB).
    let text = "x".repeat(560);
    let todos: Vec<_> = (0..2500).map(|i| todo(&format!("{i} {text}"), Priority::Low, Some("2025-06-01"))).collect();
    seed(store.clone(), todos.clone()).await;
    let (all, _) = list_all(store.as_ref(), usize::MAX).await;
    assert_eq!(all.len(), 2500);
    assert_eq!(by_id(all), by_id(todos));
}

macro_rules! contract_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn put_then_list_returns_the_todo_exactly() {
            super::put_then_list_returns_the_todo_exactly($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn put_with_an_existing_id_replaces_the_todo() {
            super::put_with_an_existing_id_replaces_the_todo($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn delete_removes_the_todo_and_is_idempotent() {
            super::delete_removes_the_todo_and_is_idempotent($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn due_dates_round_trip_byte_for_byte() {
            super::due_dates_round_trip_byte_for_byte($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn paging_with_a_limit_returns_every_todo_once() {
            super::paging_with_a_limit_returns_every_todo_once($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_table_larger_than_one_scan_page_lists_completely() {
            super::a_table_larger_than_one_scan_page_lists_completely($make).await
        }
    };
}

mod embedded {
    use super::*;

    fn store() -> Arc<dyn TodoStore> {
        // Leak the directory: the store must outlive the test body, and the OS cleans /tmp.
        let dir = tempfile::tempdir().unwrap().keep();
        Arc::new(EmbeddedStore::open(&dir.join("todos.redb")).unwrap())
    }

    contract_suite!(store());

    #[tokio::test]
    async fn acknowledged_writes_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/todos.redb");
        let a = todo("durable", Priority::High, Some("2031-12-31T23:59:59"));
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.put(&a).await.unwrap();
            store.put(&todo("gone", Priority::Low, None)).await.unwrap();
            let (all, _) = list_all(&store, 10).await;
            store.delete(&all.iter().find(|t| t.description == "gone").unwrap().id).await.unwrap();
        }
        let reopened = EmbeddedStore::open(&path).unwrap();
        let (all, _) = list_all(&reopened, 10).await;
        assert_eq!(all, vec![a]);
    }

    #[tokio::test]
    async fn the_in_memory_mode_keeps_the_same_contract() {
        let store: Arc<dyn TodoStore> = Arc::new(EmbeddedStore::in_memory().unwrap());
        super::put_then_list_returns_the_todo_exactly(store.clone()).await;
        let other = EmbeddedStore::in_memory().unwrap();
        assert!(other.list(None, 10).await.unwrap().todos.is_empty(), "in-memory stores are independent");
    }
}

mod dynamodb {
    use super::*;

    async fn store() -> Arc<dyn TodoStore> {
        let (client, table) = fresh_table("contract").await;
        Arc::new(DynamoStore::new(client, table))
    }

    contract_suite!(store().await);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_stop_at_one_megabyte_and_continue_from_the_last_key() {
        // dynalite, like DynamoDB, ends a Scan page at 1 MB of items: the store must hand back the key.
        let (client, table) = fresh_table("pages").await;
        let store = Arc::new(DynamoStore::new(client, table));
        let text = "y".repeat(1000);
        let todos: Vec<_> = (0..1200).map(|i| todo(&format!("{i} {text}"), Priority::Normal, None)).collect();
        seed(store.clone(), todos).await;
        let first = store.list(None, usize::MAX).await.unwrap();
        assert!(first.last_key.is_some(), "1.2 MB should not fit in one scan page");
        assert!(first.todos.len() < 1200);
        let (all, pages) = list_all(store.as_ref(), usize::MAX).await;
        assert_eq!(all.len(), 1200);
        assert!(pages >= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn items_written_by_the_go_service_read_back() {
        let (client, table) = fresh_table("go").await;
        let with_empty_due = new_id();
        let with_due = new_id();
        for (id, due, priority) in [(&with_empty_due, "", "low"), (&with_due, "2023-05-01", "high")] {
            client
                .put_item()
                .table_name(&table)
                .item("Id", AttributeValue::S(id.clone()))
                .item("Description", AttributeValue::S(format!("from go {id}")))
                .item("Priority", AttributeValue::S(priority.into()))
                .item("DueDate", AttributeValue::S(due.into()))
                .send()
                .await
                .unwrap();
        }
        let store = DynamoStore::new(client, table);
        let all = by_id(list_all(&store, 100).await.0);
        assert_eq!(all[&with_empty_due].due_date, None, "DueDate \"\" means no due date");
        assert_eq!(all[&with_empty_due].priority, Priority::Low);
        assert_eq!(all[&with_due].due_date.as_deref(), Some("2023-05-01"));
        assert_eq!(all[&with_due].priority, Priority::High);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn items_are_written_in_the_go_service_shape() {
        let (client, table) = fresh_table("shape").await;
        let store = DynamoStore::new(client.clone(), table.clone());
        let with_due = todo("a", Priority::High, Some("2024-01-01T09:00"));
        let without = todo("b", Priority::Low, None);
        store.put(&with_due).await.unwrap();
        store.put(&without).await.unwrap();
        let items = raw_items(&client, &table).await;
        let item = items.iter().find(|i| i["Id"].as_s().unwrap() == &with_due.id).unwrap();
        let mut names: Vec<_> = item.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["Description", "DueDate", "Id", "Priority"]);
        assert_eq!(item["Priority"].as_s().unwrap(), "high");
        assert_eq!(item["DueDate"].as_s().unwrap(), "2024-01-01T09:00");
        let item = items.iter().find(|i| i["Id"].as_s().unwrap() == &without.id).unwrap();
        assert!(!item.contains_key("DueDate"), "no due date is stored as no attribute");
        assert!(item.values().all(|v| v.is_s()), "every attribute is a string");
    }
}
