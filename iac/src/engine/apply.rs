//! Applying a plan: every node starts as soon as the nodes it depends on are done (a tokio `JoinSet`
//! of ready nodes), with live progress. Each node re-resolves its links with the outputs its
//! dependencies actually produced and re-diffs before calling AWS, so nothing is applied from a stale
//! guess. The first stop request (Ctrl-C) lets in-flight calls finish and starts nothing new; the
//! second aborts them. `destroy` uses the same scheduler on the reversed graph.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::graph::Graph;
use super::plan::Plan;
use super::{Action, Declared, NodeId, Observed, Outputs, Progress, ProgressSink, StopSignal};
use crate::aws::Aws;
use crate::error::IacError;

/// How to run.
#[derive(Clone)]
pub struct ApplyOptions {
    /// External stop requests (Ctrl-C).
    pub stop: StopSignal,
    /// Stop starting new changes after this many have completed (simulates a crash in tests).
    pub stop_after: Option<usize>,
    /// Where progress goes.
    pub progress: Arc<dyn ProgressSink>,
    /// Let a replace delete stored data (`--allow-data-loss`); otherwise `up` refuses it before any
    /// change ([`crate::ops::check_data_loss`]).
    pub allow_data_loss: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            stop: StopSignal::new(),
            stop_after: None,
            progress: Arc::new(super::NoProgress),
            allow_data_loss: false,
        }
    }
}

/// One change made.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// Node.
    pub id: NodeId,
    /// `kind name`.
    pub label: String,
    /// What was done.
    pub action: Action,
    /// How long it took.
    pub elapsed: Duration,
}

/// The result of a successful run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Changes made, in completion order.
    pub executed: Vec<Executed>,
    /// Outputs of every node.
    pub outputs: HashMap<NodeId, Outputs>,
}

type Job = Pin<Box<dyn Future<Output = Result<(Outputs, Action), IacError>> + Send>>;

enum Start {
    /// Nothing to do; these are its outputs.
    Done(Outputs),
    /// Run this.
    Job(Action, Job),
}

/// A job's node, label, action, start time and result.
type Finished = (NodeId, String, Action, Instant, Result<(Outputs, Action), IacError>);

struct Scheduled {
    report: Report,
    failed: Vec<(NodeId, IacError)>,
    not_started: usize,
}

async fn schedule(
    order: Vec<(NodeId, String)>,
    waits_for: HashMap<NodeId, Vec<NodeId>>,
    opts: &ApplyOptions,
    mut start: impl FnMut(&NodeId, &HashMap<NodeId, Outputs>) -> Result<Start, IacError>,
) -> Scheduled {
    let mut pending: Vec<(NodeId, String)> = order;
    let mut done: BTreeSet<NodeId> = BTreeSet::new();
    let mut broken: BTreeSet<NodeId> = BTreeSet::new();
    let mut report = Report::default();
    let mut failed = Vec::new();
    let mut set: JoinSet<Finished> = JoinSet::new();
    loop {
        let stopping = opts.stop.stop_requested() || opts.stop_after.is_some_and(|n| report.executed.len() >= n);
        let mut progressed = true;
        while progressed && !stopping {
            progressed = false;
            let mut still = Vec::new();
            for (id, label) in std::mem::take(&mut pending) {
                let deps = waits_for.get(&id).cloned().unwrap_or_default();
                if deps.iter().any(|d| broken.contains(d)) {
                    opts.progress.report(Progress::Skipped {
                        id: id.clone(),
                        label,
                        reason: "a dependency failed".into(),
                    });
                    broken.insert(id);
                    progressed = true;
                    continue;
                }
                if !deps.iter().all(|d| done.contains(d)) {
                    still.push((id, label));
                    continue;
                }
                match start(&id, &report.outputs) {
                    Ok(Start::Done(outputs)) => {
                        report.outputs.insert(id.clone(), outputs);
                        done.insert(id);
                        progressed = true;
                    }
                    Ok(Start::Job(action, job)) => {
                        opts.progress.report(Progress::Started { id: id.clone(), label: label.clone(), action });
                        let t0 = Instant::now();
                        set.spawn(async move { (id, label, action, t0, job.await) });
                    }
                    Err(e) => {
                        opts.progress.report(Progress::Failed { id: id.clone(), label, error: e.to_string() });
                        failed.push((id.clone(), e));
                        broken.insert(id);
                        progressed = true;
                    }
                }
            }
            pending = still;
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                match joined {
                    Ok((id, label, _, t0, Ok((outputs, action)))) => {
                        let elapsed = t0.elapsed();
                        opts.progress.report(Progress::Finished { id: id.clone(), label: label.clone(), action, elapsed });
                        report.executed.push(Executed { id: id.clone(), label, action, elapsed });
                        report.outputs.insert(id.clone(), outputs);
                        done.insert(id);
                    }
                    Ok((id, label, _, _, Err(e))) => {
                        if matches!(e, IacError::ConcurrentUp { .. }) {
                            // Another run owns the stack's API: start nothing more, let it finish.
                            opts.stop.raise();
                        }
                        opts.progress.report(Progress::Failed { id: id.clone(), label, error: e.to_string() });
                        failed.push((id.clone(), e));
                        broken.insert(id);
                    }
                    Err(e) => failed.push(("?".into(), IacError::Graph(format!("a task stopped unexpectedly: {e}")))),
                }
            }
            _ = opts.stop.aborted() => {
                set.abort_all();
                while set.join_next().await.is_some() {}
                break;
            }
        }
    }
    for (id, label) in &pending {
        opts.progress.report(Progress::Skipped { id: id.clone(), label: label.clone(), reason: "stopped".into() });
    }
    Scheduled { report, failed, not_started: pending.len() }
}

fn finish(s: Scheduled) -> Result<Report, IacError> {
    let mut failed = s.failed;
    if !failed.is_empty() {
        let n = failed.len();
        let (_, first) = failed.remove(0);
        return Err(if n == 1 { first } else { IacError::Failed { failed: n, first: Box::new(first) } });
    }
    if s.not_started > 0 {
        return Err(IacError::Interrupted { applied: s.report.executed.len(), remaining: s.not_started });
    }
    Ok(s.report)
}

/// Applies `plan` (made from `graph`) in dependency order.
pub async fn apply(aws: &Aws, graph: &Graph, plan: &Plan, opts: &ApplyOptions) -> Result<Report, IacError> {
    plan.check_ownership()?;
    let mut order: Vec<(NodeId, String)> = graph.nodes.iter().map(|n| (n.id.clone(), n.resource.label())).collect();
    // Live resources no longer declared (strays) go last.
    order.extend(plan.steps.iter().filter(|s| s.desired.is_none()).map(|s| (s.id.clone(), s.label.clone())));
    let steps: HashMap<&str, &super::plan::Step> = plan.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let nodes: HashMap<&str, &crate::stack::Node> = graph.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let scheduled = schedule(order, graph.deps.clone(), opts, |id, outputs| {
        let step = steps.get(id.as_str()).copied();
        let observed = step.and_then(|s| s.observed.clone());
        let Some(node) = nodes.get(id.as_str()) else {
            // Not declared: delete what is live.
            let Some(live) = observed else { return Ok(Start::Done(Outputs::new())) };
            let aws = aws.clone();
            return Ok(Start::Job(
                Action::Delete,
                Box::pin(async move {
                    live.delete(&aws).await?;
                    Ok((Outputs::new(), Action::Delete))
                }),
            ));
        };
        let desired = node.resource.resolved(outputs);
        let change = desired.diff(observed.as_ref());
        if change.action == Action::Unchanged {
            let out = observed.map(|o| o.outputs()).unwrap_or_else(|| desired.planned_outputs());
            return Ok(Start::Done(out));
        }
        let action = change.action;
        let aws = aws.clone();
        let label = desired.label();
        Ok(Start::Job(
            action,
            Box::pin(async move {
                // Resources inside a container that did not exist at plan time were not read
                // then; another `up` of the stack may have created them since (it adopted our new
                // API). Read before creating, so such a concurrent run is joined, not duplicated.
                if action == Action::Create
                    && desired.container().is_some()
                    && let Some(adopted) = adopt_live(&aws, &desired).await?
                {
                    let outputs = adopted.outputs();
                    return Ok((outputs, Action::Unchanged));
                }
                let after = match desired.apply(&aws, observed.as_ref(), &change).await {
                    Err(e) if action == Action::Create => adopt_after_failed_create(&aws, &desired, e).await?,
                    other => other?,
                };
                let Some(after) = after else {
                    return Err(IacError::aws(
                        label,
                        action.verb(),
                        "done, but the resource cannot be read back yet; run `up` again",
                    ));
                };
                Ok((after.outputs(), action))
            }),
        ))
    })
    .await;
    finish(scheduled)
}

/// A create failed. When that is because the resource now exists and is ours — a concurrent `up`
/// of the same stack created it (`ResourceInUseException`, `EntityAlreadyExists`,
/// `ResourceConflictException`, ...) — adopt it: re-diff against what is live and apply the
/// difference, exactly as the next `up` would. Anything else keeps the original error. (Not for
/// kinds whose names are not unique: they converge by themselves, see
/// [`crate::engine::Resource::adopts_after_failed_create`].)
async fn adopt_after_failed_create(
    aws: &Aws,
    desired: &Declared,
    error: IacError,
) -> Result<Option<Observed>, IacError> {
    if !desired.adopts_after_failed_create() || matches!(error, IacError::ConcurrentUp { .. }) {
        return Err(error);
    }
    tracing::info!(resource = %desired.label(), "create failed ({error}); checking whether another run created it");
    match adopt_live(aws, desired).await {
        Ok(Some(live)) => Ok(Some(live)),
        _ => Err(error),
    }
}

/// When `desired` now exists and is ours: brings it in line (an update, or nothing) and returns it.
async fn adopt_live(aws: &Aws, desired: &Declared) -> Result<Option<Observed>, IacError> {
    let Some(live) = desired.read(aws).await? else { return Ok(None) };
    let step = super::plan::step_for(String::new(), desired.clone(), Some(live.clone()));
    if step.foreign {
        return Ok(None);
    }
    match step.change.action {
        Action::Unchanged => Ok(Some(live)),
        Action::Update => desired.apply(aws, Some(&live), &step.change).await,
        _ => Ok(None),
    }
}

/// What `destroy` did.
#[derive(Debug, Clone, Default)]
pub struct DestroyReport {
    /// Resources deleted.
    pub removed: Vec<Executed>,
    /// Resources with our names left alone because they lack our tags.
    pub left_alone: Vec<String>,
}

/// Deletes, in reverse dependency order, every live resource of the plan that is ours.
pub async fn destroy(aws: &Aws, graph: &Graph, plan: &Plan, opts: &ApplyOptions) -> Result<DestroyReport, IacError> {
    let left_alone: Vec<String> = plan.steps.iter().filter(|s| s.foreign).map(|s| s.label.clone()).collect();
    let to_delete: HashMap<&str, &super::plan::Step> =
        plan.steps.iter().filter(|s| s.observed.is_some() && !s.foreign).map(|s| (s.id.as_str(), s)).collect();
    let mut order: Vec<(NodeId, String)> = plan.steps.iter().rev().map(|s| (s.id.clone(), s.label.clone())).collect();
    order.dedup();
    // A node is deleted once everything that depends on it is gone.
    let waits_for = graph.dependents();
    let scheduled = schedule(order, waits_for, opts, |id, _| {
        let Some(step) = to_delete.get(id.as_str()) else { return Ok(Start::Done(Outputs::new())) };
        let Some(live) = step.observed.clone() else { return Ok(Start::Done(Outputs::new())) };
        let aws = aws.clone();
        Ok(Start::Job(
            Action::Delete,
            Box::pin(async move {
                live.delete(&aws).await?;
                Ok((Outputs::new(), Action::Delete))
            }),
        ))
    })
    .await;
    let report = finish(scheduled)?;
    Ok(DestroyReport { removed: report.executed, left_alone })
}
