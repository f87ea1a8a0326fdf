//! The machine-readable results of `preview`, `up`, `destroy` and `outputs` (`--json`): one JSON
//! document on stdout with stable field names (documented in the README), built from the engine's
//! plan and reports. This is the one module that reads the engine's types for that purpose: when
//! the engine changes, only the `From` conversions here follow.

use serde::Serialize;

use crate::engine::Action;
use crate::engine::apply::{DestroyReport, Executed, Report};
use crate::engine::plan::{Plan, Step};
use crate::error::IacError;
use crate::outputs::StackOutputs;

/// Format version of the document; bumped only when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

/// The document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Document {
    /// Always [`VERSION`].
    pub version: u32,
    /// `preview`, `up`, `destroy` or `outputs`.
    pub command: &'static str,
    /// Stack name.
    pub stack: String,
    /// Region (absent when AWS was not reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account id (absent when AWS was not reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Whether the command succeeded.
    pub ok: bool,
    /// The plan, step by step (`preview`, `up`, `destroy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepDoc>>,
    /// Counts of the plan's actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// What was changed (`up`, `destroy`), in completion order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<AppliedDoc>>,
    /// Resources with our names but not our tags, left alone (`destroy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_alone: Option<Vec<String>>,
    /// The stack's outputs (`up`, `outputs`); `null` when not deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Option<StackOutputs>>,
    /// The failure, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

impl Document {
    /// An empty document for `command` on `stack`.
    pub fn new(command: &'static str, stack: &str) -> Document {
        Document {
            version: VERSION,
            command,
            stack: stack.to_owned(),
            region: None,
            account: None,
            ok: true,
            steps: None,
            summary: None,
            applied: None,
            left_alone: None,
            outputs: None,
            error: None,
        }
    }

    /// Adds the plan's steps and counts.
    pub fn with_plan(mut self, plan: &Plan) -> Document {
        self.steps = Some(plan.steps.iter().map(StepDoc::from).collect());
        self.summary = Some(Summary::from(plan));
        self
    }

    /// Marks the document failed with `error`.
    pub fn failed(mut self, error: &IacError) -> Document {
        self.ok = false;
        self.error = Some(ErrorDoc::from(error));
        self
    }

    /// The document as pretty JSON and a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"ok\":false,\"error\":\"{e}\"}}")) + "\n"
    }
}

/// An action's stable name.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Unchanged => "unchanged",
    }
}

/// One step of the plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepDoc {
    /// Node id in the stack's graph (`table`, `route:GET /todos`, ...).
    pub id: String,
    /// Resource kind (`table`, `function`, `http api`, ...).
    pub kind: String,
    /// Physical name (`todos-dev`, `GET /todos`, ...).
    pub name: String,
    /// `create`, `update`, `replace`, `delete` or `unchanged`.
    pub action: &'static str,
    /// The properties that differ (for a create: every declared property, `old` null).
    pub changes: Vec<ChangeDoc>,
    /// The live resource has our name but not our tags (not ours: never touched).
    pub foreign: bool,
}

/// One changed property.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeDoc {
    /// Property name as the preview shows it.
    pub property: String,
    /// Live value (null: none).
    pub old: Option<String>,
    /// Declared value (null: none).
    pub new: Option<String>,
}

impl From<&Step> for StepDoc {
    fn from(s: &Step) -> StepDoc {
        StepDoc {
            id: s.id.clone(),
            kind: s.kind.to_owned(),
            name: s.name.clone(),
            action: action_name(s.change.action),
            changes: s
                .change
                .properties
                .iter()
                .map(|p| ChangeDoc { property: p.name.to_string(), old: p.old.clone(), new: p.new.clone() })
                .collect(),
            foreign: s.foreign,
        }
    }
}

/// Counts per action.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct Summary {
    /// To create.
    pub create: usize,
    /// To update in place.
    pub update: usize,
    /// To replace (delete and create).
    pub replace: usize,
    /// To delete.
    pub delete: usize,
    /// Already as declared.
    pub unchanged: usize,
}

impl From<&Plan> for Summary {
    fn from(plan: &Plan) -> Summary {
        let c = plan.counts();
        let n = |a| c.get(&a).copied().unwrap_or(0);
        Summary {
            create: n(Action::Create),
            update: n(Action::Update),
            replace: n(Action::Replace),
            delete: n(Action::Delete),
            unchanged: n(Action::Unchanged),
        }
    }
}

/// One change made.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppliedDoc {
    /// Node id.
    pub id: String,
    /// `kind name`.
    pub label: String,
    /// What was done.
    pub action: &'static str,
    /// How long it took, in seconds.
    pub seconds: f64,
}

impl From<&Executed> for AppliedDoc {
    fn from(e: &Executed) -> AppliedDoc {
        AppliedDoc {
            id: e.id.clone(),
            label: e.label.clone(),
            action: action_name(e.action),
            seconds: (e.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }
}

/// The changes of an `up`.
pub fn applied_of(report: &Report) -> Vec<AppliedDoc> {
    report.executed.iter().map(AppliedDoc::from).collect()
}

/// The deletions of a `destroy`.
pub fn removed_of(report: &DestroyReport) -> Vec<AppliedDoc> {
    report.removed.iter().map(AppliedDoc::from).collect()
}

/// A failure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorDoc {
    /// The kind of error, e.g. `DataLoss`, `NoCredentials`, `AccessDenied` (the variant's name).
    pub kind: String,
    /// The message a person reads (as printed without `--json`).
    pub message: String,
}

impl From<&IacError> for ErrorDoc {
    fn from(e: &IacError) -> ErrorDoc {
        let debug = format!("{e:?}");
        let kind = debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_owned();
        ErrorDoc { kind, message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_its_variant_name_and_its_message() {
        let e = IacError::Graph("a cycle".into());
        let d = ErrorDoc::from(&e);
        assert_eq!(d.kind, "Graph");
        assert_eq!(d.message, "stack graph: a cycle");
        let doc = Document::new("up", "dev").failed(&e);
        let v: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["kind"], "Graph");
        assert_eq!(v["version"], 1);
        assert!(v.get("steps").is_none());
    }
}
