//! The four operations (`preview`, `up`, `destroy`, `outputs`) as library calls, so the CLI and the
//! tests run exactly the same code.

use std::path::Path;

use crate::aws::Aws;
use crate::engine::Action;
use crate::engine::apply::{self, ApplyOptions, DestroyReport, Report};
use crate::engine::graph::Graph;
use crate::engine::plan::{self, Plan};
use crate::error::IacError;
use crate::outputs::StackOutputs;
use crate::stack::{StackSpec, declare, declare_for_destroy};

/// Reads live state and diffs it against the declaration. Makes no mutating call.
pub async fn preview(aws: &Aws, spec: &StackSpec) -> Result<Plan, IacError> {
    let graph = Graph::new(&declare(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    plan.check_ownership()?;
    Ok(plan)
}

/// The result of `up`.
#[derive(Debug, Clone)]
pub struct UpResult {
    /// The plan that was applied.
    pub plan: Plan,
    /// What was done.
    pub report: Report,
    /// The stack's outputs.
    pub outputs: Option<StackOutputs>,
}

/// Plans and applies; writes the outputs file when `outputs_path` is given.
pub async fn up(
    aws: &Aws,
    spec: &StackSpec,
    opts: &ApplyOptions,
    outputs_path: Option<&Path>,
) -> Result<UpResult, IacError> {
    let approved = up_with::<IacError>(aws, spec, opts, outputs_path, |_| {}, |_| Ok(true)).await?;
    approved.ok_or_else(|| IacError::Graph("`up` was approved and did not apply".into()))
}

/// `up` as the CLI runs it: plans, refuses a plan that would take over a resource that is not ours,
/// `show`s the plan, refuses a replace that would lose data (unless `--allow-data-loss`), asks
/// `approve` (only when something changes), then applies. `Ok(None)`: not approved, nothing changed.
pub async fn up_with<E: From<IacError>>(
    aws: &Aws,
    spec: &StackSpec,
    opts: &ApplyOptions,
    outputs_path: Option<&Path>,
    show: impl FnOnce(&Plan),
    approve: impl FnOnce(&Plan) -> Result<bool, E>,
) -> Result<Option<UpResult>, E> {
    let stack = declare(spec);
    let graph = Graph::new(&stack)?;
    let plan = plan::plan(aws, &graph).await?;
    plan.check_ownership()?;
    show(&plan);
    // Before asking: a refused replace should not wait for a yes first.
    check_data_loss(aws, &plan, opts.allow_data_loss).await?;
    if plan.has_changes() && !approve(&plan)? {
        return Ok(None);
    }
    let report = apply::apply(aws, &graph, &plan, opts).await?;
    let outputs = StackOutputs::from_exports(&stack.exports, &report.outputs);
    if let (Some(o), Some(path)) = (&outputs, outputs_path) {
        o.write(path)?;
    }
    Ok(Some(UpResult { plan, report, outputs }))
}

/// Deletes everything of the stack that is ours (also a Cognito pool left by an earlier mode:
/// [`declare_for_destroy`]).
pub async fn destroy(aws: &Aws, spec: &StackSpec, opts: &ApplyOptions) -> Result<DestroyReport, IacError> {
    let approved = destroy_with::<IacError>(aws, spec, opts, None, |_| Ok(true)).await?;
    approved.ok_or_else(|| IacError::Graph("`destroy` was approved and did not run".into()))
}

/// The live resources of `plan` that `destroy` deletes (ours), by label.
pub fn doomed(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().filter(|s| s.observed.is_some() && !s.foreign).map(|s| s.label.as_str()).collect()
}

/// `destroy` as the CLI runs it: plans, asks `approve` (only when something of the stack exists:
/// see [`doomed`]), deletes, and removes the outputs file at `outputs_path` if given. `Ok(None)`:
/// not approved, nothing deleted.
pub async fn destroy_with<E: From<IacError>>(
    aws: &Aws,
    spec: &StackSpec,
    opts: &ApplyOptions,
    outputs_path: Option<&Path>,
    approve: impl FnOnce(&Plan) -> Result<bool, E>,
) -> Result<Option<DestroyReport>, E> {
    let graph = Graph::new(&declare_for_destroy(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    if !doomed(&plan).is_empty() && !approve(&plan)? {
        return Ok(None);
    }
    let report = apply::destroy(aws, &graph, &plan, opts).await?;
    if let Some(path) = outputs_path
        && path.exists()
    {
        // The file describes a stack that no longer exists; a failure to remove it changes nothing.
        let _ = std::fs::remove_file(path);
    }
    Ok(Some(report))
}

/// The outputs from live state (`None` when the stack is not (fully) deployed).
pub async fn outputs(aws: &Aws, spec: &StackSpec) -> Result<Option<StackOutputs>, IacError> {
    let stack = declare(spec);
    let graph = Graph::new(&stack)?;
    let plan = plan::plan(aws, &graph).await?;
    let nodes = plan.steps.iter().filter_map(|s| s.observed.as_ref().map(|o| (s.id.clone(), o.outputs()))).collect();
    Ok(StackOutputs::from_exports(&stack.exports, &nodes))
}

/// What a replace in `plan` would delete: (resource, what it holds, the change forcing the replace),
/// for every replaced table that holds items and every replaced user pool with users. Read-only.
pub async fn data_at_risk(aws: &Aws, plan: &Plan) -> Result<Vec<(String, String, String)>, IacError> {
    let mut found = Vec::new();
    for s in plan.steps.iter().filter(|s| s.change.action == Action::Replace) {
        let holds = match &s.observed {
            Some(live) => live.held_data(aws).await?,
            None => None,
        };
        if let Some(holds) = holds {
            let change = s
                .change
                .properties
                .iter()
                .map(|p| {
                    format!(
                        "{}: {} → {}",
                        p.name,
                        p.old.as_deref().unwrap_or("(none)"),
                        p.new.as_deref().unwrap_or("(none)")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            found.push((s.label.clone(), holds, change));
        }
    }
    Ok(found)
}

/// Refuses — before any change — a plan whose replaces would delete stored data, unless `allow`
/// (`--allow-data-loss`). With `allow`, logs what will be lost.
pub async fn check_data_loss(aws: &Aws, plan: &Plan, allow: bool) -> Result<(), IacError> {
    for (resource, holds, change) in data_at_risk(aws, plan).await? {
        if !allow {
            return Err(IacError::DataLoss { resource, holds, change });
        }
        tracing::warn!("{resource}: replacing it deletes the {holds} it holds (--allow-data-loss given)");
    }
    Ok(())
}
