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
    let graph = Graph::new(&declare(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    apply_plan(aws, spec, &graph, plan, opts, outputs_path).await
}

/// Applies an already computed plan (the CLI shows it and asks first).
pub async fn apply_plan(
    aws: &Aws,
    spec: &StackSpec,
    graph: &Graph,
    plan: Plan,
    opts: &ApplyOptions,
    outputs_path: Option<&Path>,
) -> Result<UpResult, IacError> {
    check_data_loss(aws, &plan, opts.allow_data_loss).await?;
    let report = apply::apply(aws, graph, &plan, opts).await?;
    let outputs = StackOutputs::from_nodes(&report.outputs, &spec.target.region)
        .and_then(|o| o.with_auth(&spec.config.auth, &report.outputs));
    if let (Some(o), Some(path)) = (&outputs, outputs_path) {
        o.write(path)?;
    }
    Ok(UpResult { plan, report, outputs })
}

/// Deletes everything of the stack that is ours (also a Cognito pool left by an earlier mode:
/// [`declare_for_destroy`]).
pub async fn destroy(aws: &Aws, spec: &StackSpec, opts: &ApplyOptions) -> Result<DestroyReport, IacError> {
    let graph = Graph::new(&declare_for_destroy(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    apply::destroy(aws, &graph, &plan, opts).await
}

/// The outputs from live state (`None` when the stack is not (fully) deployed).
pub async fn outputs(aws: &Aws, spec: &StackSpec) -> Result<Option<StackOutputs>, IacError> {
    let graph = Graph::new(&declare(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    let nodes = plan.steps.iter().filter_map(|s| s.observed.as_ref().map(|o| (s.id.clone(), o.outputs()))).collect();
    Ok(StackOutputs::from_nodes(&nodes, &spec.target.region).and_then(|o| o.with_auth(&spec.config.auth, &nodes)))
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
