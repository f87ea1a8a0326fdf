//! The plan: read the live state of every declared resource (read-only calls, in graph order,
//! concurrently where independent), resolve links, and diff. Preview is this plan, rendered.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use tokio::task::JoinSet;

use super::graph::Graph;
use super::{Action, Change, Declared, NodeId, Observed, Outputs, Ownership, carries_tags, tags_display};
use crate::aws::Aws;
use crate::error::IacError;

/// What the plan does to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Node id (for a stray, its owner's id and what it is, e.g. `api:child:old`).
    pub id: NodeId,
    /// The kind, as the kind names itself.
    pub kind: &'static str,
    /// The physical name shown to people.
    pub name: String,
    /// `kind name`.
    pub label: String,
    /// The declaration with the links resolved as far as the plan knows them (`None`: not declared).
    pub desired: Option<Declared>,
    /// The live resource, if any.
    pub observed: Option<Observed>,
    /// The diff.
    pub change: Change,
    /// The live resource has our name but not our tags: it is not ours.
    pub foreign: bool,
}

impl Step {
    /// A live resource that is not declared (a stray: no longer declared, or a duplicate): deleted.
    pub fn removal(id: NodeId, kind: &'static str, name: String, observed: Observed) -> Step {
        Step {
            id,
            kind,
            label: format!("{kind} {name}"),
            name,
            desired: None,
            observed: Some(observed),
            change: Change::delete(),
            foreign: false,
        }
    }

    /// The plan's knowledge of this resource's outputs.
    pub fn outputs(&self) -> Outputs {
        match (self.change.action, &self.observed, &self.desired) {
            (Action::Create | Action::Replace, _, Some(d)) => d.planned_outputs(),
            (_, Some(o), _) => o.outputs(),
            (_, None, Some(d)) => d.planned_outputs(),
            _ => Outputs::new(),
        }
    }
}

/// Builds the step of a declared resource from its live state: the pure heart of the planner.
pub fn step_for(id: NodeId, desired: Declared, observed: Option<Observed>) -> Step {
    let foreign = match (desired.ownership(), &observed, desired.tags()) {
        (Ownership::Tagged | Ownership::AdoptsUntagged, Some(o), Some(ours)) => {
            !o.tags().is_some_and(|live| carries_tags(live, ours))
        }
        (_, Some(o), _) => desired.held_by_another(o),
        _ => false,
    };
    let change = desired.diff(observed.as_ref());
    Step {
        id,
        kind: desired.kind(),
        name: desired.name(),
        label: desired.label(),
        desired: Some(desired),
        observed,
        change,
        foreign,
    }
}

/// The plan of a whole stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Steps in graph order, then deletes of live resources no longer declared.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The step of a node.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Errors when a uniquely named resource exists without our tags (`up` must not take it over).
    pub fn check_ownership(&self) -> Result<(), IacError> {
        for s in &self.steps {
            if s.foreign && s.desired.as_ref().is_some_and(|d| d.ownership() == Ownership::Tagged) {
                let expected = s.desired.as_ref().and_then(|d| d.tags()).map(tags_display).unwrap_or_default();
                return Err(IacError::NameTaken { resource: s.label.clone(), expected });
            }
            if let (true, Some(d), Some(live)) = (s.foreign, &s.desired, &s.observed)
                && let Some(e) = d.foreign_error(live)
            {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Count of steps per action.
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut c = BTreeMap::new();
        for s in &self.steps {
            *c.entry(s.change.action).or_default() += 1;
        }
        c
    }

    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.change.action != Action::Unchanged)
    }

    /// `Plan: 1 to create, 2 to update, 0 to replace, 0 to delete, 8 unchanged.`
    pub fn summary(&self) -> String {
        let c = self.counts();
        let n = |a| c.get(&a).copied().unwrap_or(0);
        format!(
            "Plan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
            n(Action::Create),
            n(Action::Update),
            n(Action::Replace),
            n(Action::Delete),
            n(Action::Unchanged)
        )
    }

    /// The preview text: per resource, the action and each property (`old → new`), then the summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let (marker, verb) = (s.change.action.marker(), s.change.action.verb());
            let _ = writeln!(out, "  {marker} {verb:<10} {:<11} {}", s.kind, s.name);
            for p in &s.change.properties {
                let _ = match (&p.old, &p.new) {
                    (None, Some(new)) if s.change.action == Action::Create => {
                        writeln!(out, "        {}: {}", p.name, new)
                    }
                    (old, new) => writeln!(
                        out,
                        "        {}: {} → {}",
                        p.name,
                        old.as_deref().filter(|o| !o.is_empty()).unwrap_or("(none)"),
                        new.as_deref().filter(|n| !n.is_empty()).unwrap_or("(none)")
                    ),
                };
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }
}

fn join_error(e: tokio::task::JoinError) -> IacError {
    IacError::Graph(format!("a read task stopped unexpectedly: {e}"))
}

/// Reads the live state of every node of `graph` and diffs it (no mutating call).
pub async fn plan(aws: &Aws, graph: &Graph) -> Result<Plan, IacError> {
    let mut level: HashMap<&str, usize> = HashMap::new();
    for n in &graph.nodes {
        let l = graph.deps[&n.id].iter().map(|d| level[d.as_str()] + 1).max().unwrap_or(0);
        level.insert(&n.id, l);
    }
    let max_level = level.values().copied().max().unwrap_or(0);
    let mut outputs: HashMap<NodeId, Outputs> = HashMap::new();
    let mut steps: HashMap<NodeId, Step> = HashMap::new();
    for l in 0..=max_level {
        let mut set = JoinSet::new();
        for node in graph.nodes.iter().filter(|n| level[n.id.as_str()] == l) {
            let desired = node.resource.resolved(&outputs);
            // Nothing to read inside a container that does not exist yet.
            let container_is_new = desired.container().and_then(|c| c.source()).is_some_and(|src| {
                steps.get(&src.node).is_some_and(|s| matches!(s.change.action, Action::Create | Action::Replace))
            });
            let aws = aws.clone();
            let id = node.id.clone();
            set.spawn(async move {
                let observed = if container_is_new { None } else { desired.read(&aws).await? };
                Ok::<_, IacError>(step_for(id, desired, observed))
            });
        }
        while let Some(joined) = set.join_next().await {
            let step = joined.map_err(join_error)??;
            outputs.insert(step.id.clone(), step.outputs());
            steps.insert(step.id.clone(), step);
        }
    }
    let mut ordered: Vec<Step> = graph.nodes.iter().filter_map(|n| steps.remove(&n.id)).collect();
    // Live resources that should not exist (duplicates, undeclared children), found by their owners:
    // deleted by `up` (last) and by `destroy`.
    let mut strays = Vec::new();
    for s in &ordered {
        if let (Some(desired), Some(live)) = (&s.desired, &s.observed) {
            strays.extend(desired.strays(aws, &s.id, live, &ordered).await?);
        }
    }
    ordered.extend(strays);
    Ok(Plan { steps: ordered })
}
