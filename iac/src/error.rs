//! The one error type of the deploy crate; every variant names what a person can act on.

use std::path::PathBuf;

/// A boxed error kept as the source of an [`IacError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `iac`. Resource-related variants name the resource
/// (kind and physical name, e.g. `function todos-dev-api`).
#[derive(Debug, thiserror::Error)]
pub enum IacError {
    /// No usable credentials were found or they were rejected.
    #[error(
        "no usable AWS credentials: {message}. Configure them (aws configure / aws sso login, or AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    )]
    NoCredentials {
        /// What the SDK said.
        message: String,
        /// The SDK's error, when there is one (shown with `--verbose`).
        #[source]
        source: Option<BoxError>,
    },
    /// No region was given anywhere.
    #[error("no AWS region: pass --region, set `region` in {config}, or set AWS_REGION")]
    NoRegion {
        /// The stack config file that could have named one.
        config: PathBuf,
    },
    /// The region is not a valid AWS region name or its endpoints cannot be reached.
    #[error("unknown AWS region `{region}`: {message}")]
    UnknownRegion {
        /// The region given.
        region: String,
        /// Why it was rejected.
        message: String,
    },
    /// The Lambda package is missing.
    #[error("Lambda package {path} not found: run `make build` first (or pass --zip PATH)")]
    ZipMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// AWS denied an action on a resource.
    #[error("access denied: cannot {action} {resource}: {message}")]
    AccessDenied {
        /// The resource, e.g. `role todos-dev-api-role`.
        resource: String,
        /// The API action, e.g. `CreateRole`.
        action: String,
        /// AWS's message.
        message: String,
        /// The SDK's error (shown with `--verbose`).
        #[source]
        source: Option<BoxError>,
    },
    /// A resource with our deterministic name exists but does not carry this stack's tags.
    #[error(
        "{resource}: the name is already taken by something this stack does not own (it lacks the tags {expected}); rename or remove it, or use another --stack"
    )]
    NameTaken {
        /// The resource, e.g. `table todos-dev`.
        resource: String,
        /// The tags it should carry.
        expected: String,
    },
    /// Another `up` of the same stack created the same uniquely-owned resource at the same time and
    /// won; this run removed its own copy and stopped so that only one run builds the rest.
    #[error(
        "{resource}: another `up` of this stack is running and created it first ({winner}); this run deleted its own copy ({ours}) and stopped. Run `up` again once the other one has finished"
    )]
    ConcurrentUp {
        /// The resource, e.g. `http api todos-dev-api`.
        resource: String,
        /// The id that is kept.
        winner: String,
        /// The id this run created and deleted.
        ours: String,
    },
    /// Any other AWS error on a named resource.
    #[error("{resource}: {action} failed: {message}")]
    Aws {
        /// The resource.
        resource: String,
        /// The API action.
        action: String,
        /// AWS's message (code and text), never a debug dump.
        message: String,
        /// The SDK's error, when there is one (shown with `--verbose`).
        #[source]
        source: Option<BoxError>,
    },
    /// A wait for eventual consistency or readiness ran out of attempts.
    #[error("{resource}: gave up after {attempts} attempts waiting for {what}")]
    GaveUp {
        /// The resource.
        resource: String,
        /// What was awaited.
        what: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The engine refuses a change that would lose data.
    #[error("{resource}: {message}")]
    Refused {
        /// The resource.
        resource: String,
        /// Why.
        message: String,
    },
    /// A replace would delete stored data (todos in a table, people in a user pool) and the user did
    /// not pass `--allow-data-loss`. Checked before any change: nothing was changed.
    #[error(
        "{resource} holds {holds}; the plan replaces it ({change}), which would delete them. Nothing was changed. Export what you need, then run `up --allow-data-loss` (make up ALLOW_DATA_LOSS=1) to replace it and lose them"
    )]
    DataLoss {
        /// The resource, e.g. `table todos-dev`.
        resource: String,
        /// What it holds, e.g. `3 items`.
        holds: String,
        /// The change forcing the replace, e.g. `key: Id (S) → UserId (S) hash, Id (S) range`.
        change: String,
    },
    /// The stack config file cannot be read or parsed.
    #[error("stack config {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting is out of range or malformed (checked here because emulators accept what AWS rejects).
    #[error("invalid setting `{field}` = {value}: {message}")]
    Invalid {
        /// The setting.
        field: String,
        /// The value given.
        value: String,
        /// The rule it breaks.
        message: String,
    },
    /// The declared stack is malformed (a dangling reference or a cycle); a bug in `stack.rs`.
    #[error("stack graph: {0}")]
    Graph(String),
    /// `up` was stopped (Ctrl-C or an engine stop point) before every resource was applied.
    #[error("stopped after {applied} change(s) with {remaining} resource(s) not applied; run `up` again to finish")]
    Interrupted {
        /// Changes applied before the stop.
        applied: usize,
        /// Resources not reached.
        remaining: usize,
    },
    /// Some resources failed; the others were applied.
    #[error("{failed} resource(s) failed: {first}")]
    Failed {
        /// How many failed.
        failed: usize,
        /// The first error.
        #[source]
        first: Box<IacError>,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl IacError {
    /// An AWS failure on `resource` during `action` that has no SDK error behind it (a request that
    /// could not be built, a state AWS reported).
    pub fn aws(resource: impl Into<String>, action: impl Into<String>, message: impl Into<String>) -> IacError {
        IacError::Aws { resource: resource.into(), action: action.into(), message: message.into(), source: None }
    }

    /// Keeps `source` as the cause of an AWS-related error (the message stays as it is).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> IacError {
        if let IacError::Aws { source: s, .. }
        | IacError::AccessDenied { source: s, .. }
        | IacError::NoCredentials { source: s, .. } = &mut self
        {
            *s = Some(source.into());
        }
        self
    }
}
