//! The engine: the [`resource`] contract every kind implements, typed inputs and outputs that link
//! resources, the change model every resource's pure `diff` returns, the dependency [`graph`], the
//! [`plan`] (read live state + diff, no mutation) and [`apply`] (create / update / replace / delete
//! in graph order, concurrently where independent). Nothing here knows a resource kind.

pub mod apply;
pub mod graph;
pub mod plan;
pub mod resource;

pub use resource::{Declared, Observed, Ownership, Resource, State, Tags};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::error::IacError;

/// A node of the stack graph, as the stack declaration names it (e.g. `api`).
pub type NodeId = String;

/// The outputs of one resource, by key (`name`, `arn`, `id`, ...).
pub type Outputs = BTreeMap<&'static str, String>;

/// Shown in previews for a value that only exists once an upstream resource is created.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// A reference to one output of another resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRef {
    /// The resource that produces it.
    pub node: NodeId,
    /// Which output.
    pub key: &'static str,
}

type MapFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A resource input: a literal, or another resource's output (optionally transformed, like Pulumi's
/// `apply`). Links are what the engine builds the dependency graph from.
#[derive(Clone)]
pub enum Input {
    /// A value known now.
    Known(String),
    /// An output of another resource, not yet resolved.
    Ref {
        /// Where it comes from.
        from: OutputRef,
        /// An optional transformation of the output value.
        map: Option<MapFn>,
    },
    /// Resolved, but the upstream resource does not exist yet (preview of a create).
    Unknown(OutputRef),
}

impl Input {
    /// A literal input.
    pub fn known(value: impl Into<String>) -> Input {
        Input::Known(value.into())
    }

    /// An input taken from `node`'s output `key`.
    pub fn output(node: impl Into<NodeId>, key: &'static str) -> Input {
        Input::Ref { from: OutputRef { node: node.into(), key }, map: None }
    }

    /// The same input passed through `f` once known (e.g. an API id → a source ARN).
    pub fn map(self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Input {
        match self {
            Input::Known(v) => Input::Known(f(&v)),
            Input::Ref { from, map: None } => Input::Ref { from, map: Some(Arc::new(f)) },
            Input::Ref { from, map: Some(g) } => Input::Ref { from, map: Some(Arc::new(move |v: &str| f(&g(v)))) },
            Input::Unknown(r) => Input::Unknown(r),
        }
    }

    /// The value, when known.
    pub fn value(&self) -> Option<&str> {
        match self {
            Input::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The value, or an error naming `resource` (apply runs only after upstream outputs exist).
    pub fn require(&self, resource: &str) -> Result<&str, IacError> {
        self.value().ok_or_else(|| IacError::Graph(format!("{resource}: an input is not resolved ({self:?})")))
    }

    /// The value or [`KNOWN_AFTER_APPLY`], for display.
    pub fn display(&self) -> String {
        self.value().unwrap_or(KNOWN_AFTER_APPLY).to_owned()
    }

    /// The resource this input depends on, if any.
    pub fn source(&self) -> Option<&OutputRef> {
        match self {
            Input::Known(_) => None,
            Input::Ref { from, .. } | Input::Unknown(from) => Some(from),
        }
    }

    /// Replaces a reference by its value from `outputs`, or by `Unknown` when it is not there.
    pub fn resolve(&mut self, outputs: &HashMap<NodeId, Outputs>) {
        if let Input::Ref { from, map } = self {
            *self = match outputs.get(&from.node).and_then(|o| o.get(from.key)) {
                Some(v) => Input::Known(match map {
                    Some(f) => f(v),
                    None => v.clone(),
                }),
                None => Input::Unknown(from.clone()),
            };
        }
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Known(v) => write!(f, "{v:?}"),
            Input::Ref { from, .. } => write!(f, "<{}.{}>", from.node, from.key),
            Input::Unknown(from) => write!(f, "<unknown {}.{}>", from.node, from.key),
        }
    }
}

impl PartialEq for Input {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Input::Known(a), Input::Known(b)) => a == b,
            (Input::Ref { from: a, .. }, Input::Ref { from: b, .. }) => a == b,
            (Input::Unknown(a), Input::Unknown(b)) => a == b,
            _ => false,
        }
    }
}

/// What the plan does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Does not exist yet.
    Create,
    /// Exists; some properties change in place.
    Update,
    /// Exists; a property that cannot change in place differs: delete, then create.
    Replace,
    /// Exists but is no longer declared.
    Delete,
    /// Matches the declaration.
    Unchanged,
}

impl Action {
    /// The word used in output.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }

    /// The one-character marker used in previews.
    pub fn marker(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Replace => '±',
            Action::Delete => '-',
            Action::Unchanged => '=',
        }
    }
}

/// One property that differs: `old → new` (`old` is empty for a create, `new` for a delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChange {
    /// Property name, e.g. `memory_mb`.
    pub name: String,
    /// The live value, or `None` when there is none.
    pub old: Option<String>,
    /// The declared value.
    pub new: Option<String>,
}

/// The result of a resource's pure `diff(desired, observed)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// Properties concerned (all declared ones for a create; the differing ones otherwise).
    pub properties: Vec<PropertyChange>,
}

impl Change {
    /// Nothing to do.
    pub fn unchanged() -> Change {
        Change { action: Action::Unchanged, properties: Vec::new() }
    }

    /// A create showing `properties` (name, value).
    pub fn create(properties: Vec<(&str, String)>) -> Change {
        Change {
            action: Action::Create,
            properties: properties
                .into_iter()
                .map(|(n, v)| PropertyChange { name: n.to_owned(), old: None, new: Some(v) })
                .collect(),
        }
    }

    /// A delete of a live resource no longer declared.
    pub fn delete() -> Change {
        Change { action: Action::Delete, properties: Vec::new() }
    }

    /// Whether `name` is among the changed properties.
    pub fn touches(&self, name: &str) -> bool {
        self.properties.iter().any(|p| p.name == name)
    }
}

/// Builds an update/replace [`Change`] property by property.
#[derive(Debug, Default)]
pub struct Diff {
    properties: Vec<PropertyChange>,
    replace: bool,
}

impl Diff {
    /// A new, empty diff.
    pub fn new() -> Diff {
        Diff::default()
    }

    /// Compares a live value with a declared one; a difference is an in-place update.
    pub fn field(&mut self, name: &str, old: Option<String>, new: impl Into<String>) -> &mut Self {
        let new = new.into();
        if old.as_deref() != Some(new.as_str()) {
            self.properties.push(PropertyChange { name: name.to_owned(), old, new: Some(new) });
        }
        self
    }

    /// Like [`Diff::field`] for an input that may be unknown until apply (then it always differs).
    pub fn input(&mut self, name: &str, old: Option<String>, new: &Input) -> &mut Self {
        match new.value() {
            Some(v) => self.field(name, old, v),
            None => {
                self.properties.push(PropertyChange {
                    name: name.to_owned(),
                    old,
                    new: Some(KNOWN_AFTER_APPLY.into()),
                });
                self
            }
        }
    }

    /// Compares a property that cannot change in place; a difference means replace.
    pub fn replace_field(&mut self, name: &str, old: Option<String>, new: impl Into<String>) -> &mut Self {
        let before = self.properties.len();
        self.field(name, old, new);
        if self.properties.len() > before {
            self.replace = true;
        }
        self
    }

    /// [`Diff::replace_field`] for an input.
    pub fn replace_input(&mut self, name: &str, old: Option<String>, new: &Input) -> &mut Self {
        let before = self.properties.len();
        self.input(name, old, new);
        if self.properties.len() > before {
            self.replace = true;
        }
        self
    }

    /// The resulting change.
    pub fn finish(self) -> Change {
        let action = if self.replace {
            Action::Replace
        } else if self.properties.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        };
        Change { action, properties: self.properties }
    }
}

/// Tags as `key=value` text, sorted, for display.
pub fn tags_display(tags: &BTreeMap<String, String>) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Whether `live` carries every tag in `ours` with the same value.
pub fn carries_tags(live: &BTreeMap<String, String>, ours: &BTreeMap<String, String>) -> bool {
    ours.iter().all(|(k, v)| live.get(k) == Some(v))
}

/// Compares tags: only our keys matter (others may be added by people or AWS and are left alone).
pub fn diff_tags(diff: &mut Diff, live: &BTreeMap<String, String>, ours: &BTreeMap<String, String>) {
    if !carries_tags(live, ours) {
        let old: BTreeMap<String, String> =
            live.iter().filter(|(k, _)| ours.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        diff.field("tags", Some(tags_display(&old)), tags_display(ours));
    }
}

/// Stop requests from outside (Ctrl-C): the first stops new work from starting, the second aborts.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    inner: Arc<StopInner>,
}

#[derive(Debug, Default)]
struct StopInner {
    count: AtomicUsize,
    notify: Notify,
}

impl StopSignal {
    /// A signal nobody has raised yet.
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Raises the signal once more (first: stop starting; second: abort).
    pub fn raise(&self) {
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// No new AWS call should start.
    pub fn stop_requested(&self) -> bool {
        self.inner.count.load(Ordering::SeqCst) >= 1
    }

    /// In-flight work should be dropped.
    pub fn abort_requested(&self) -> bool {
        self.inner.count.load(Ordering::SeqCst) >= 2
    }

    /// Completes once an abort is requested.
    pub async fn aborted(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.abort_requested() {
                return;
            }
            notified.await;
        }
    }
}

/// Live progress of `up` / `destroy`, reported per resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A resource's change started.
    Started {
        /// Node.
        id: NodeId,
        /// Display label, `kind name`.
        label: String,
        /// What is being done.
        action: Action,
    },
    /// A resource's change finished.
    Finished {
        /// Node.
        id: NodeId,
        /// Display label.
        label: String,
        /// What was done.
        action: Action,
        /// How long it took.
        elapsed: std::time::Duration,
    },
    /// A resource's change failed.
    Failed {
        /// Node.
        id: NodeId,
        /// Display label.
        label: String,
        /// The error, as text.
        error: String,
    },
    /// A resource was not started because a dependency failed or a stop was requested.
    Skipped {
        /// Node.
        id: NodeId,
        /// Display label.
        label: String,
        /// Why.
        reason: String,
    },
}

/// Where progress goes (the terminal in the CLI, a vector in tests).
pub trait ProgressSink: Send + Sync {
    /// Reports one event.
    fn report(&self, event: Progress);
}

/// A sink that discards everything.
#[derive(Debug, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _event: Progress) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_replace_only_for_properties_fixed_at_creation() {
        let mut d = Diff::new();
        d.field("memory_mb", Some("128".into()), "256");
        assert_eq!(d.finish().action, Action::Update);
        let mut d = Diff::new();
        d.field("memory_mb", Some("128".into()), "128").replace_field("key", Some("Id (N)".into()), "Id (S)");
        let c = d.finish();
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(Diff::new().finish(), Change::unchanged());
    }

    #[test]
    fn tags_of_others_are_ignored_but_ours_must_be_present() {
        let ours = BTreeMap::from([("stack".to_owned(), "dev".to_owned())]);
        let live = BTreeMap::from([("stack".to_owned(), "dev".to_owned()), ("team".to_owned(), "x".to_owned())]);
        let mut d = Diff::new();
        diff_tags(&mut d, &live, &ours);
        assert_eq!(d.finish().action, Action::Unchanged);
        let mut d = Diff::new();
        diff_tags(&mut d, &BTreeMap::new(), &ours);
        assert_eq!(d.finish().properties[0].new.as_deref(), Some("stack=dev"));
    }
}

/// The engine driven by a made-up kind that lives in memory: plan, apply, re-plan, update,
/// strays and destroy, with no AWS behind it. It shows the engine needs nothing but the contract.
#[cfg(test)]
mod contract_tests {
    use std::sync::Mutex;

    use super::apply::{ApplyOptions, apply, destroy};
    use super::graph::Graph;
    use super::plan::{Step, plan};
    use super::*;
    use crate::aws::Aws;
    use crate::stack::Stack;

    /// Name → value: the "account" the widgets live in.
    type Store = Arc<Mutex<BTreeMap<String, String>>>;

    #[derive(Debug, Clone)]
    struct Widget {
        name: String,
        value: Input,
        store: Store,
    }

    impl PartialEq for Widget {
        fn eq(&self, other: &Self) -> bool {
            self.name == other.name && self.value == other.value
        }
    }

    #[derive(Debug, Clone)]
    struct WidgetState {
        name: String,
        value: String,
        store: Store,
    }

    impl PartialEq for WidgetState {
        fn eq(&self, other: &Self) -> bool {
            self.name == other.name && self.value == other.value
        }
    }

    impl State for WidgetState {
        fn outputs(&self) -> Outputs {
            Outputs::from([("name", self.name.clone()), ("value", self.value.clone())])
        }

        async fn delete(&self, _aws: &Aws) -> Result<(), IacError> {
            self.store.lock().unwrap().remove(&self.name);
            Ok(())
        }
    }

    impl Resource for Widget {
        type State = WidgetState;
        const KIND: &'static str = "widget";

        fn name(&self) -> String {
            self.name.clone()
        }

        fn inputs(&self) -> Vec<&Input> {
            vec![&self.value]
        }

        fn inputs_mut(&mut self) -> Vec<&mut Input> {
            vec![&mut self.value]
        }

        fn diff(&self, observed: Option<&WidgetState>) -> Change {
            let Some(live) = observed else { return Change::create(vec![("value", self.value.display())]) };
            let mut d = Diff::new();
            d.input("value", Some(live.value.clone()), &self.value);
            d.finish()
        }

        async fn read(&self, _aws: &Aws) -> Result<Option<WidgetState>, IacError> {
            let value = self.store.lock().unwrap().get(&self.name).cloned();
            Ok(value.map(|value| WidgetState { name: self.name.clone(), value, store: self.store.clone() }))
        }

        async fn apply(&self, _aws: &Aws, _observed: Option<&WidgetState>, _change: &Change) -> Result<(), IacError> {
            let value = self.value.require(&self.name)?.to_owned();
            self.store.lock().unwrap().insert(self.name.clone(), value);
            Ok(())
        }

        /// Every other widget in the store whose name starts with ours is a stray.
        async fn strays(
            &self,
            _aws: &Aws,
            id: &NodeId,
            _live: &WidgetState,
            steps: &[Step],
        ) -> Result<Vec<Step>, IacError> {
            let declared: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
            let store = self.store.lock().unwrap().clone();
            Ok(store
                .into_iter()
                .filter(|(name, _)| name.starts_with(&self.name) && !declared.contains(name))
                .map(|(name, value)| {
                    let live = WidgetState { name: name.clone(), value, store: self.store.clone() };
                    Step::removal(format!("{id}:{name}"), Self::KIND, name, Observed::new(live))
                })
                .collect())
        }
    }

    fn stack(store: &Store, first: &str) -> Stack {
        let mut s = Stack::default();
        s.add("a", Widget { name: "a".into(), value: Input::known(first), store: store.clone() });
        s.add("b", Widget { name: "b".into(), value: Input::output("a", "value"), store: store.clone() });
        s
    }

    #[tokio::test]
    async fn the_engine_plans_applies_and_destroys_a_kind_it_was_never_told_about() {
        let aws = Aws::offline();
        let store = Store::default();
        let graph = Graph::new(&stack(&store, "1")).unwrap();
        let p = plan(&aws, &graph).await.unwrap();
        assert_eq!(p.summary(), "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.");
        assert_eq!(p.step("b").unwrap().change.properties[0].new.as_deref(), Some(KNOWN_AFTER_APPLY));
        apply(&aws, &graph, &p, &ApplyOptions::default()).await.unwrap();
        let stored = store.lock().unwrap().clone();
        assert_eq!(stored, BTreeMap::from([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "1".to_owned())]));
        assert!(!plan(&aws, &graph).await.unwrap().has_changes());

        // A changed input flows downstream; a stray found by its owner is deleted last.
        store.lock().unwrap().insert("a-old".into(), "0".into());
        let graph = Graph::new(&stack(&store, "2")).unwrap();
        let p = plan(&aws, &graph).await.unwrap();
        assert_eq!(p.summary(), "Plan: 0 to create, 1 to update, 0 to replace, 1 to delete, 1 unchanged.");
        assert!(p.render().contains("- delete     widget      a-old"), "{}", p.render());
        let report = apply(&aws, &graph, &p, &ApplyOptions::default()).await.unwrap();
        assert_eq!(report.executed.len(), 3, "a, then b with a's new value, then the stray");
        let stored = store.lock().unwrap().clone();
        assert_eq!(stored, BTreeMap::from([("a".to_owned(), "2".to_owned()), ("b".to_owned(), "2".to_owned())]));

        let p = plan(&aws, &graph).await.unwrap();
        let removed = destroy(&aws, &graph, &p, &ApplyOptions::default()).await.unwrap().removed;
        assert_eq!(removed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert!(store.lock().unwrap().is_empty());
    }
}
