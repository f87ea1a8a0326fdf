//! One contract suite for every `TodoStore`, run unchanged against the embedded store (a redb file in a
//! temporary directory) and DynamoDB (dynalite, started by the suite), plus the few behaviours that
//! belong to one store only. The per-owner rows (sign-in on) run on both too: on DynamoDB against a
//! table keyed `UserId` + `Id`.

use crate::support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use support::{fresh_table, new_id, raw_items};
use todos::store::Page;
use todos::{DynamoStore, EmbeddedStore, Owner, Priority, Todo, TodoStore};

fn todo(description: &str, priority: Priority, due: Option<&str>) -> Todo {
    Todo { id: new_id(), description: description.to_owned(), priority, due_date: due.map(str::to_owned) }
}

/// Reads every page of the shared list; asserts that no todo comes twice.
async fn list_all(store: &dyn TodoStore, page_size: usize) -> (Vec<Todo>, usize) {
    list_all_of(store, &Owner::Everyone, page_size).await
}

/// Reads every page of `owner`'s todos; asserts that no todo comes twice.
async fn list_all_of(store: &dyn TodoStore, owner: &Owner, page_size: usize) -> (Vec<Todo>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut start: Option<String> = None;
    loop {
        let Page { todos, last_key } = store.list(owner, start.as_deref(), page_size).await.expect("list");
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
                store.put(&Owner::Everyone, &t).await.expect("put");
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
    store.put(&Owner::Everyone, &a).await.unwrap();
    store.put(&Owner::Everyone, &b).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(by_id(all), by_id(vec![a, b]));
}

async fn put_with_an_existing_id_replaces_the_todo(store: Arc<dyn TodoStore>) {
    let mut a = todo("first", Priority::Normal, Some("2030-01-01"));
    store.put(&Owner::Everyone, &a).await.unwrap();
    a.description = "second".into();
    a.priority = Priority::High;
    a.due_date = None;
    store.put(&Owner::Everyone, &a).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(all, vec![a]);
}

async fn delete_removes_the_todo_and_is_idempotent(store: Arc<dyn TodoStore>) {
    let a = todo("keep", Priority::Low, None);
    let b = todo("drop", Priority::Low, None);
    store.put(&Owner::Everyone, &a).await.unwrap();
    store.put(&Owner::Everyone, &b).await.unwrap();
    store.delete(&Owner::Everyone, &b.id).await.unwrap();
    store.delete(&Owner::Everyone, &b.id).await.unwrap();
    store.delete(&Owner::Everyone, &new_id()).await.unwrap();
    let (all, _) = list_all(store.as_ref(), 100).await;
    assert_eq!(all, vec![a]);
}

async fn due_dates_round_trip_byte_for_byte(store: Arc<dyn TodoStore>) {
    let shapes = ["2024-02-29", "2024-02-29T07:30", "2024-02-29T07:30:00"];
    let todos: Vec<_> = shapes.iter().map(|d| todo("d", Priority::Normal, Some(d))).collect();
    for t in &todos {
        store.put(&Owner::Everyone, t).await.unwrap();
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

// ---- the contract per owner (sign-in on) ----------------------------------------------------------

fn user(name: &str) -> Owner {
    Owner::User(format!("sub-{name}"))
}

async fn two_owners_with_the_same_id_never_touch_each_others_todo(store: Arc<dyn TodoStore>) {
    let (alice, bob) = (user("alice"), user("bob"));
    let mut hers = todo("alice's", Priority::High, Some("2030-01-01"));
    let mut his = hers.clone();
    his.description = "bob's".into();
    his.priority = Priority::Low;
    store.put(&alice, &hers).await.unwrap();
    assert!(list_all_of(store.as_ref(), &bob, 10).await.0.is_empty(), "bob sees nothing of alice's");
    store.put(&bob, &his).await.unwrap();
    assert_eq!(list_all_of(store.as_ref(), &alice, 10).await.0, vec![hers.clone()], "bob's put left alice's alone");
    assert_eq!(list_all_of(store.as_ref(), &bob, 10).await.0, vec![his.clone()]);

    hers.description = "alice's, changed".into();
    hers.due_date = None;
    store.put(&alice, &hers).await.unwrap();
    assert_eq!(list_all_of(store.as_ref(), &bob, 10).await.0, vec![his.clone()], "alice's overwrite stays hers");

    store.delete(&bob, &his.id).await.unwrap();
    assert!(list_all_of(store.as_ref(), &bob, 10).await.0.is_empty());
    assert_eq!(list_all_of(store.as_ref(), &alice, 10).await.0, vec![hers.clone()], "bob's delete removed only his");
    store.delete(&bob, &hers.id).await.unwrap();
    assert_eq!(list_all_of(store.as_ref(), &alice, 10).await.0, vec![hers], "deleting a missing id deletes nothing");
}

async fn paging_and_cursors_never_cross_owners(store: Arc<dyn TodoStore>) {
    let (alice, bob) = (user("alice"), user("bob"));
    let hers: Vec<_> = (0..23).map(|i| todo(&format!("alice {i}"), Priority::Normal, None)).collect();
    let his: Vec<_> = (0..17).map(|i| todo(&format!("bob {i}"), Priority::Low, None)).collect();
    for (h, b) in hers.iter().zip(his.iter().chain(std::iter::repeat_n(&his[0], 23))) {
        store.put(&alice, h).await.unwrap();
        store.put(&bob, b).await.unwrap();
    }
    let (listed, pages) = list_all_of(store.as_ref(), &alice, 4).await;
    assert!(pages >= 6, "23 todos in pages of 4 took {pages} pages");
    assert_eq!(by_id(listed), by_id(hers.clone()));
    assert_eq!(by_id(list_all_of(store.as_ref(), &bob, 3).await.0), by_id(his.clone()));

    // Any of bob's keys used as alice's cursor is only a position among alice's own todos.
    let hers_by_id = by_id(hers);
    for key in his.iter().map(|t| t.id.as_str()) {
        let page = store.list(&alice, Some(key), 100).await.unwrap();
        for t in &page.todos {
            assert!(hers_by_id.contains_key(&t.id), "a cursor of bob's listed one of his todos to alice");
            assert!(t.id.as_str() > key, "the page starts after the cursor");
        }
    }
}

async fn concurrent_writes_of_several_owners_end_as_each_owner_last_wrote(store: Arc<dyn TodoStore>) {
    // Every owner writes the same ten ids, concurrently with the others; within one owner, in order.
    let ids: Vec<String> = (0..10).map(|_| new_id()).collect();
    let owners: Vec<Owner> = (0..6).map(|i| user(&format!("concurrent-{i}"))).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, owner) in owners.iter().enumerate() {
        let (store, owner, ids) = (store.clone(), owner.clone(), ids.clone());
        tasks.spawn(async move {
            let mut expected = BTreeMap::new();
            for round in 0..3 {
                for (i, id) in ids.iter().enumerate() {
                    let t = Todo {
                        id: id.clone(),
                        description: format!("owner {n} round {round} item {i}"),
                        priority: Priority::Normal,
                        due_date: None,
                    };
                    if (i + round + n) % 4 == 0 {
                        store.delete(&owner, id).await.unwrap();
                        expected.remove(id);
                    } else {
                        store.put(&owner, &t).await.unwrap();
                        expected.insert(id.clone(), t);
                    }
                }
            }
            (owner, expected)
        });
    }
    let mut checked = 0;
    while let Some(done) = tasks.join_next().await {
        let (owner, expected) = done.unwrap();
        assert_eq!(by_id(list_all_of(store.as_ref(), &owner, 3).await.0), expected, "{owner:?}");
        checked += 1;
    }
    assert_eq!(checked, owners.len());
}

macro_rules! owner_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_owners_with_the_same_id_never_touch_each_others_todo() {
            super::two_owners_with_the_same_id_never_touch_each_others_todo($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn paging_and_cursors_never_cross_owners() {
            super::paging_and_cursors_never_cross_owners($make).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_writes_of_several_owners_end_as_each_owner_last_wrote() {
            super::concurrent_writes_of_several_owners_end_as_each_owner_last_wrote($make).await
        }
    };
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

    /// Per-owner rows: the same file holds the shared list and every user's todos.
    mod per_owner {
        use super::*;
        owner_suite!(store());

        #[tokio::test]
        async fn owners_todos_survive_reopening_and_the_shared_list_stays_apart() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("todos.redb");
            let shared = todo("shared", Priority::Normal, None);
            let mut hers = shared.clone();
            hers.description = "alice's".into();
            {
                let store = EmbeddedStore::open(&path).unwrap();
                store.put(&Owner::Everyone, &shared).await.unwrap();
                store.put(&user("alice"), &hers).await.unwrap();
            }
            let reopened = EmbeddedStore::open(&path).unwrap();
            assert_eq!(list_all(&reopened, 10).await.0, vec![shared]);
            assert_eq!(list_all_of(&reopened, &user("alice"), 10).await.0, vec![hers]);
            assert!(list_all_of(&reopened, &user("bob"), 10).await.0.is_empty());
        }
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/todos.redb");
        let a = todo("durable", Priority::High, Some("2031-12-31T23:59:59"));
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.put(&Owner::Everyone, &a).await.unwrap();
            store.put(&Owner::Everyone, &todo("gone", Priority::Low, None)).await.unwrap();
            let (all, _) = list_all(&store, 10).await;
            store.delete(&Owner::Everyone, &all.iter().find(|t| t.description == "gone").unwrap().id).await.unwrap();
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
        assert!(
            other.list(&Owner::Everyone, None, 10).await.unwrap().todos.is_empty(),
            "in-memory stores are independent"
        );
    }
}

mod dynamodb {
    use super::*;

    async fn store() -> Arc<dyn TodoStore> {
        let (client, table) = fresh_table("contract").await;
        Arc::new(DynamoStore::new(client, table))
    }

    contract_suite!(store().await);

    /// Per-owner rows on a table keyed `UserId` + `Id`, as the deploy creates it with sign-in.
    mod per_owner {
        use super::*;

        async fn owned_store() -> Arc<dyn TodoStore> {
            let (client, table) = support::fresh_owned_table("owners").await;
            Arc::new(DynamoStore::new(client, table))
        }

        owner_suite!(owned_store().await);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn queries_stop_at_one_megabyte_and_continue_within_the_owners_todos() {
            // dynalite, like DynamoDB, ends a Query page at 1 MB: the store must hand back the key and
            // the next page must stay in the same user's partition.
            let (client, table) = support::fresh_owned_table("owner-pages").await;
            let store = Arc::new(DynamoStore::new(client, table));
            let text = "q".repeat(1000);
            let hers: Vec<_> = (0..1200).map(|i| todo(&format!("{i} {text}"), Priority::Normal, None)).collect();
            let his: Vec<_> = (0..40).map(|i| todo(&format!("bob {i}"), Priority::Low, None)).collect();
            let alice = user("alice");
            let mut tasks = tokio::task::JoinSet::new();
            for chunk in hers.chunks(75) {
                let (store, alice, chunk) = (store.clone(), alice.clone(), chunk.to_vec());
                tasks.spawn(async move {
                    for t in chunk {
                        store.put(&alice, &t).await.unwrap();
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
            for t in &his {
                store.put(&user("bob"), t).await.unwrap();
            }
            let first = store.list(&alice, None, usize::MAX).await.unwrap();
            assert!(first.last_key.is_some(), "1.2 MB should not fit in one query page");
            assert!(first.todos.len() < 1200);
            let (all, pages) = list_all_of(store.as_ref(), &alice, usize::MAX).await;
            assert!(pages >= 2);
            assert_eq!(by_id(all), by_id(hers));
            assert_eq!(by_id(list_all_of(store.as_ref(), &user("bob"), usize::MAX).await.0), by_id(his));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn items_carry_the_owner_in_user_id_next_to_the_go_service_attributes() {
            let (client, table) = support::fresh_owned_table("owner-shape").await;
            let store = DynamoStore::new(client.clone(), table.clone());
            let t = todo("a", Priority::High, Some("2024-01-01"));
            store.put(&user("alice"), &t).await.unwrap();
            let items = raw_items(&client, &table).await;
            assert_eq!(items.len(), 1);
            let mut names: Vec<_> = items[0].keys().cloned().collect();
            names.sort();
            assert_eq!(names, ["Description", "DueDate", "Id", "Priority", "UserId"]);
            assert_eq!(items[0]["UserId"].as_s().unwrap(), "sub-alice");
            assert_eq!(items[0]["Id"].as_s().unwrap(), &t.id);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_stop_at_one_megabyte_and_continue_from_the_last_key() {
        // dynalite, like DynamoDB, ends a Scan page at 1 MB of items: the store must hand back the key.
        let (client, table) = fresh_table("pages").await;
        let store = Arc::new(DynamoStore::new(client, table));
        let text = "y".repeat(1000);
        let todos: Vec<_> = (0..1200).map(|i| todo(&format!("{i} {text}"), Priority::Normal, None)).collect();
        seed(store.clone(), todos).await;
        let first = store.list(&Owner::Everyone, None, usize::MAX).await.unwrap();
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
        store.put(&Owner::Everyone, &with_due).await.unwrap();
        store.put(&Owner::Everyone, &without).await.unwrap();
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
