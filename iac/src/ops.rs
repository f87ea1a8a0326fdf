//! The four operations (`preview`, `up`, `destroy`, `outputs`) as library calls, so the CLI and the
//! tests run exactly the same code.

use std::path::Path;

use crate::aws::Aws;
use crate::engine::apply::{self, ApplyOptions, DestroyReport, Report};
use crate::engine::graph::Graph;
use crate::engine::plan::{self, Plan};
use crate::error::IacError;
use crate::outputs::StackOutputs;
use crate::stack::{StackSpec, declare};

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
    let report = apply::apply(aws, graph, &plan, opts).await?;
    let outputs = StackOutputs::from_nodes(&report.outputs, &spec.target.region);
    if let (Some(o), Some(path)) = (&outputs, outputs_path) {
        o.write(path)?;
    }
    Ok(UpResult { plan, report, outputs })
}

/// Deletes everything of the stack that is ours.
pub async fn destroy(aws: &Aws, spec: &StackSpec, opts: &ApplyOptions) -> Result<DestroyReport, IacError> {
    let graph = Graph::new(&declare(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    apply::destroy(aws, &graph, &plan, opts).await
}

/// The outputs from live state (`None` when the stack is not (fully) deployed).
pub async fn outputs(aws: &Aws, spec: &StackSpec) -> Result<Option<StackOutputs>, IacError> {
    let graph = Graph::new(&declare(spec))?;
    let plan = plan::plan(aws, &graph).await?;
    let nodes = plan.steps.iter().filter_map(|s| s.observed.as_ref().map(|o| (s.id.clone(), o.outputs()))).collect();
    Ok(StackOutputs::from_nodes(&nodes, &spec.target.region))
}
