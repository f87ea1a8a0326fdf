//! The contract between the engine and a resource kind, Pulumi-style: each kind (one file under
//! `resources/`) says what it is called, which inputs link it to other resources, how to read its
//! live state, how to diff (pure) and how to create / update / delete, plus the few facts the engine
//! needs (replace-only fields show up in its diff, ownership by tags, strays to sweep, data a replace
//! would lose). The engine only ever sees the type-erased [`Declared`] and [`Observed`] wrappers, so
//! it knows no kind; adding one is a new file implementing [`Resource`] and a line in the stack.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::plan::Step;
use super::{Change, Input, NodeId, Outputs};
use crate::aws::Aws;
use crate::error::IacError;

/// Resource tags.
pub type Tags = BTreeMap<String, String>;

/// A boxed, sendable future (what the type-erased contract returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a live resource with our name is recognised as ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Its name is unique in the account and it must carry our tags; otherwise the name is taken.
    Tagged,
    /// Adopted even without our tags (something the platform creates by itself under our name).
    AdoptsUntagged,
    /// Lives inside a resource we own, or is found by name *and* tags.
    Contained,
}

/// The live state of one kind: what other resources may link to, its tags, and how it is deleted
/// (a live state carries everything its deletion needs, so strays can be deleted too).
pub trait State: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The outputs other resources may link to.
    fn outputs(&self) -> Outputs;

    /// Live tags, for taggable kinds.
    fn tags(&self) -> Option<&Tags> {
        None
    }

    /// Deletes the live resource (one already gone counts as deleted).
    fn delete(&self, aws: &Aws) -> impl Future<Output = Result<(), IacError>> + Send;

    /// What a replace would delete with it (`3 items`, `about 2 user(s)`), if anything. Read-only.
    fn held_data(&self, _aws: &Aws) -> impl Future<Output = Result<Option<String>, IacError>> + Send {
        async { Ok(None) }
    }
}

/// One resource kind, as declared in the stack.
pub trait Resource: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Its live state.
    type State: State;

    /// The kind as shown to people (the first word of a label).
    const KIND: &'static str;

    /// The physical name shown to people.
    fn name(&self) -> String;

    /// Every input (the links to other resources among them).
    fn inputs(&self) -> Vec<&Input> {
        Vec::new()
    }

    /// Every input, mutably (for resolution).
    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        Vec::new()
    }

    /// The input naming the resource this one lives inside: when that one is about to be created,
    /// there is nothing to read.
    fn container(&self) -> Option<&Input> {
        None
    }

    /// How ownership of a live resource with our name is recognised.
    fn ownership(&self) -> Ownership {
        Ownership::Contained
    }

    /// Our tags, for taggable kinds.
    fn tags(&self) -> Option<&Tags> {
        None
    }

    /// Outputs known before the resource exists (deterministic names and ARNs).
    fn planned_outputs(&self) -> Outputs {
        Outputs::new()
    }

    /// Whether `live`, found by our name, belongs to something else: never adopted, changed or deleted.
    fn held_by_another(&self, _live: &Self::State) -> bool {
        false
    }

    /// The error `up` stops with when `live` is held by another (beyond the engine's "name taken").
    fn foreign_error(&self, _live: &Self::State) -> Option<IacError> {
        None
    }

    /// Whether a failed create may be adopted when the resource turns out to exist and be ours (a
    /// concurrent `up` created it). Kinds whose names are not unique converge by themselves.
    fn adopts_after_failed_create(&self) -> bool {
        true
    }

    /// The pure diff against the live state.
    fn diff(&self, observed: Option<&Self::State>) -> Change;

    /// Reads the live resource (read-only calls only).
    fn read(&self, aws: &Aws) -> impl Future<Output = Result<Option<Self::State>, IacError>> + Send;

    /// Applies `change` (never `Unchanged` or `Delete`); the engine then reads the live state back
    /// ([`Resource::apply_and_read`]).
    fn apply(
        &self,
        aws: &Aws,
        observed: Option<&Self::State>,
        change: &Change,
    ) -> impl Future<Output = Result<(), IacError>> + Send;

    /// Applies `change` and returns the live state after it: [`Resource::apply`], then
    /// [`Resource::read`]. Overridden only by a kind whose new resource cannot be read back at once.
    fn apply_and_read(
        &self,
        aws: &Aws,
        observed: Option<&Self::State>,
        change: &Change,
    ) -> impl Future<Output = Result<Option<Self::State>, IacError>> + Send {
        async move {
            self.apply(aws, observed, change).await?;
            self.read(aws).await
        }
    }

    /// Live resources around this one that should not exist (duplicates left by a concurrent run,
    /// children no longer declared), given the plan's steps so far: deleted by `up` (last) and `destroy`.
    fn strays(
        &self,
        _aws: &Aws,
        _id: &NodeId,
        _live: &Self::State,
        _steps: &[Step],
    ) -> impl Future<Output = Result<Vec<Step>, IacError>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// What both type-erased wrappers need from what they hold: its own type back, and equality.
trait AnyEq: fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn eq_dyn(&self, other: &dyn Any) -> bool;
}

impl<T: PartialEq + fmt::Debug + Send + Sync + 'static> AnyEq for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn eq_dyn(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
}

/// The object-safe face of [`Resource`], implemented for every kind.
trait ErasedResource: AnyEq {
    fn kind(&self) -> &'static str;
    fn name(&self) -> String;
    fn inputs(&self) -> Vec<&Input>;
    fn resolved(&self, outputs: &HashMap<NodeId, Outputs>) -> Declared;
    fn container(&self) -> Option<&Input>;
    fn ownership(&self) -> Ownership;
    fn tags(&self) -> Option<&Tags>;
    fn planned_outputs(&self) -> Outputs;
    fn held_by_another(&self, live: &Observed) -> bool;
    fn foreign_error(&self, live: &Observed) -> Option<IacError>;
    fn adopts_after_failed_create(&self) -> bool;
    fn diff(&self, observed: Option<&Observed>) -> Change;
    fn read<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<Option<Observed>, IacError>>;
    fn apply<'a>(
        &'a self,
        aws: &'a Aws,
        observed: Option<&'a Observed>,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Option<Observed>, IacError>>;
    fn strays<'a>(
        &'a self,
        aws: &'a Aws,
        id: &'a NodeId,
        live: &'a Observed,
        steps: &'a [Step],
    ) -> BoxFuture<'a, Result<Vec<Step>, IacError>>;
}

impl<R: Resource> ErasedResource for R {
    fn kind(&self) -> &'static str {
        R::KIND
    }
    fn name(&self) -> String {
        Resource::name(self)
    }
    fn inputs(&self) -> Vec<&Input> {
        Resource::inputs(self)
    }
    fn resolved(&self, outputs: &HashMap<NodeId, Outputs>) -> Declared {
        let mut r = self.clone();
        for i in r.inputs_mut() {
            i.resolve(outputs);
        }
        Declared::new(r)
    }
    fn container(&self) -> Option<&Input> {
        Resource::container(self)
    }
    fn ownership(&self) -> Ownership {
        Resource::ownership(self)
    }
    fn tags(&self) -> Option<&Tags> {
        Resource::tags(self)
    }
    fn planned_outputs(&self) -> Outputs {
        Resource::planned_outputs(self)
    }
    fn held_by_another(&self, live: &Observed) -> bool {
        live.downcast_ref::<R::State>().is_some_and(|l| Resource::held_by_another(self, l))
    }
    fn foreign_error(&self, live: &Observed) -> Option<IacError> {
        live.downcast_ref::<R::State>().and_then(|l| Resource::foreign_error(self, l))
    }
    fn adopts_after_failed_create(&self) -> bool {
        Resource::adopts_after_failed_create(self)
    }
    fn diff(&self, observed: Option<&Observed>) -> Change {
        Resource::diff(self, observed.and_then(|o| o.downcast_ref::<R::State>()))
    }
    fn read<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<Option<Observed>, IacError>> {
        Box::pin(async move { Ok(Resource::read(self, aws).await?.map(Observed::new)) })
    }
    fn apply<'a>(
        &'a self,
        aws: &'a Aws,
        observed: Option<&'a Observed>,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Option<Observed>, IacError>> {
        Box::pin(async move {
            let live = observed.and_then(|o| o.downcast_ref::<R::State>());
            Ok(Resource::apply_and_read(self, aws, live, change).await?.map(Observed::new))
        })
    }
    fn strays<'a>(
        &'a self,
        aws: &'a Aws,
        id: &'a NodeId,
        live: &'a Observed,
        steps: &'a [Step],
    ) -> BoxFuture<'a, Result<Vec<Step>, IacError>> {
        Box::pin(async move {
            match live.downcast_ref::<R::State>() {
                Some(l) => Resource::strays(self, aws, id, l, steps).await,
                None => Ok(Vec::new()),
            }
        })
    }
}

/// A declared resource of any kind (what the engine holds).
#[derive(Clone)]
pub struct Declared(Arc<dyn ErasedResource>);

impl Declared {
    /// Wraps a declaration.
    pub fn new<R: Resource>(resource: R) -> Declared {
        Declared(Arc::new(resource))
    }

    /// The declaration as its own kind, if it is one.
    pub fn downcast_ref<R: Resource>(&self) -> Option<&R> {
        self.0.as_any().downcast_ref::<R>()
    }

    /// The kind (the first word of a label).
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    /// The physical name shown to people.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// `kind name`.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind(), self.name())
    }

    /// Every input (the links to other resources among them).
    pub fn inputs(&self) -> Vec<&Input> {
        self.0.inputs()
    }

    /// A copy with every link replaced by its value from `outputs` (or `Unknown`).
    pub fn resolved(&self, outputs: &HashMap<NodeId, Outputs>) -> Declared {
        self.0.resolved(outputs)
    }

    /// See [`Resource::container`].
    pub fn container(&self) -> Option<&Input> {
        self.0.container()
    }

    /// See [`Resource::ownership`].
    pub fn ownership(&self) -> Ownership {
        self.0.ownership()
    }

    /// Our tags, for taggable kinds.
    pub fn tags(&self) -> Option<&Tags> {
        self.0.tags()
    }

    /// Outputs known before the resource exists.
    pub fn planned_outputs(&self) -> Outputs {
        self.0.planned_outputs()
    }

    /// See [`Resource::held_by_another`].
    pub fn held_by_another(&self, live: &Observed) -> bool {
        self.0.held_by_another(live)
    }

    /// See [`Resource::foreign_error`].
    pub fn foreign_error(&self, live: &Observed) -> Option<IacError> {
        self.0.foreign_error(live)
    }

    /// See [`Resource::adopts_after_failed_create`].
    pub fn adopts_after_failed_create(&self) -> bool {
        self.0.adopts_after_failed_create()
    }

    /// The pure diff against the live state (a state of another kind counts as none).
    pub fn diff(&self, observed: Option<&Observed>) -> Change {
        self.0.diff(observed)
    }

    /// Reads the live resource (read-only calls only).
    pub async fn read(&self, aws: &Aws) -> Result<Option<Observed>, IacError> {
        self.0.read(aws).await
    }

    /// Applies `change` and returns the live state after it.
    pub async fn apply(
        &self,
        aws: &Aws,
        observed: Option<&Observed>,
        change: &Change,
    ) -> Result<Option<Observed>, IacError> {
        self.0.apply(aws, observed, change).await
    }

    /// See [`Resource::strays`].
    pub async fn strays(&self, aws: &Aws, id: &NodeId, live: &Observed, steps: &[Step]) -> Result<Vec<Step>, IacError> {
        self.0.strays(aws, id, live, steps).await
    }
}

impl fmt::Debug for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for Declared {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_dyn(other.0.as_any())
    }
}

/// The object-safe face of [`State`].
trait ErasedState: AnyEq {
    fn outputs(&self) -> Outputs;
    fn tags(&self) -> Option<&Tags>;
    fn delete<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<(), IacError>>;
    fn held_data<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<Option<String>, IacError>>;
}

impl<S: State> ErasedState for S {
    fn outputs(&self) -> Outputs {
        State::outputs(self)
    }
    fn tags(&self) -> Option<&Tags> {
        State::tags(self)
    }
    fn delete<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<(), IacError>> {
        Box::pin(State::delete(self, aws))
    }
    fn held_data<'a>(&'a self, aws: &'a Aws) -> BoxFuture<'a, Result<Option<String>, IacError>> {
        Box::pin(State::held_data(self, aws))
    }
}

/// A live resource of any kind.
#[derive(Clone)]
pub struct Observed(Arc<dyn ErasedState>);

impl Observed {
    /// Wraps a live state.
    pub fn new<S: State>(state: S) -> Observed {
        Observed(Arc::new(state))
    }

    /// The live state as its own type, if it is one.
    pub fn downcast_ref<S: State>(&self) -> Option<&S> {
        self.0.as_any().downcast_ref::<S>()
    }

    /// The outputs other resources may link to.
    pub fn outputs(&self) -> Outputs {
        self.0.outputs()
    }

    /// Live tags, for taggable kinds.
    pub fn tags(&self) -> Option<&Tags> {
        self.0.tags()
    }

    /// Deletes the live resource (tolerating one already gone).
    pub async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        self.0.delete(aws).await
    }

    /// See [`State::held_data`].
    pub async fn held_data(&self, aws: &Aws) -> Result<Option<String>, IacError> {
        self.0.held_data(aws).await
    }
}

impl fmt::Debug for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for Observed {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_dyn(other.0.as_any())
    }
}
