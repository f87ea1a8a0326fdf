//! The todos stack, declared as code: deterministic names from project + stack, our tags, and nine
//! kinds of typed resources whose outputs feed each other's inputs. The engine derives the
//! dependency graph from these links (plus the one explicit `depends_on`: the log group must exist
//! before the function, though the function does not consume any of its outputs). The stack's own
//! outputs (`apiUrl`, ...) are exports: links to resource outputs, resolved after a run.
//!
//! With sign-in (`[auth] mode = "cognito" | "jwt"`) the table is keyed by owner, the role may
//! `Query` instead of `Scan`, the function learns `AUTH_MODE=jwt`, CORS allows `authorization`, and
//! a JWT authorizer guards every route; `cognito` adds the user pool, its app client and hosted
//! sign-in domain, whose outputs become the authorizer's issuer and audience.

use std::marker::PhantomData;

use std::collections::BTreeMap;

use crate::config::{AuthMode, StackConfig};
use crate::engine::{Declared, Input, NodeId, Resource};
use crate::outputs::SCOPES;
use crate::resources::authorizer::Authorizer;
use crate::resources::function::{Code, Function};
use crate::resources::http_api::{CorsSpec, HttpApi};
use crate::resources::integration::Integration;
use crate::resources::log_group::LogGroup;
use crate::resources::permission::{self, Permission};
use crate::resources::role::{OWNER_TABLE_ACTIONS, Role, TABLE_ACTIONS};
use crate::resources::route::Route;
use crate::resources::stage::Stage;
use crate::resources::table::Table;
use crate::resources::user_pool::UserPool;
use crate::resources::user_pool_client::UserPoolClient;
use crate::resources::user_pool_domain::UserPoolDomain;
use crate::resources::{Tags, Target};

/// The project part of every name and the `project` tag.
pub const PROJECT: &str = "todos";
/// The value of the `managed-by` tag: what makes a resource this tool's.
pub const MANAGED_BY: &str = "todos-iac";

/// Deterministic physical names of a stack's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Project, e.g. `todos`.
    pub project: String,
    /// Stack, e.g. `dev`.
    pub stack: String,
}

impl Names {
    /// Names for `project` / `stack`.
    pub fn new(project: &str, stack: &str) -> Names {
        Names { project: project.to_owned(), stack: stack.to_owned() }
    }

    fn base(&self) -> String {
        format!("{}-{}", self.project, self.stack)
    }

    /// `todos-dev`.
    pub fn table(&self) -> String {
        self.base()
    }

    /// `todos-dev-api`.
    pub fn function(&self) -> String {
        format!("{}-api", self.base())
    }

    /// `todos-dev-api-role`.
    pub fn role(&self) -> String {
        format!("{}-api-role", self.base())
    }

    /// `todos-dev-table-access`.
    pub fn role_policy(&self) -> String {
        format!("{}-table-access", self.base())
    }

    /// `/aws/lambda/todos-dev-api`.
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.function())
    }

    /// `todos-dev-api` (HTTP API names are not unique: found by name *and* tags).
    pub fn http_api(&self) -> String {
        format!("{}-api", self.base())
    }

    /// `todos-dev-apigw-invoke`.
    pub fn permission(&self) -> String {
        format!("{}-apigw-invoke", self.base())
    }

    /// `todos-dev-users` (Cognito pool names are not unique: found by name *and* tags).
    pub fn user_pool(&self) -> String {
        format!("{}-users", self.base())
    }

    /// `todos-dev-web`: the browser app's client in the pool.
    pub fn user_pool_client(&self) -> String {
        format!("{}-web", self.base())
    }

    /// `todos-dev-jwt`: the API's JWT authorizer.
    pub fn authorizer(&self) -> String {
        format!("{}-jwt", self.base())
    }

    /// The tags every taggable resource of the stack carries.
    pub fn tags(&self) -> Tags {
        Tags::from([
            ("project".to_owned(), self.project.clone()),
            ("stack".to_owned(), self.stack.clone()),
            ("managed-by".to_owned(), MANAGED_BY.to_owned()),
        ])
    }
}

/// One declared resource and its explicit dependencies (links through inputs are implicit).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Node id, e.g. `function`.
    pub id: NodeId,
    /// The declaration.
    pub resource: Declared,
    /// Nodes that must exist first although no output of theirs is used.
    pub depends_on: Vec<NodeId>,
}

/// A typed handle on a declared resource, to take its outputs as other resources' inputs.
#[derive(Debug)]
pub struct Handle<T> {
    id: NodeId,
    _kind: PhantomData<T>,
}

impl<T> Handle<T> {
    /// The node id.
    pub fn node(&self) -> &NodeId {
        &self.id
    }

    fn output(&self, key: &'static str) -> Input {
        Input::output(self.id.clone(), key)
    }
}

impl Handle<Table> {
    /// The table's name.
    pub fn name(&self) -> Input {
        self.output("name")
    }
    /// The table's ARN.
    pub fn arn(&self) -> Input {
        self.output("arn")
    }
}

impl Handle<Role> {
    /// The role's ARN.
    pub fn arn(&self) -> Input {
        self.output("arn")
    }
}

impl Handle<Function> {
    /// The function's name.
    pub fn name(&self) -> Input {
        self.output("name")
    }
    /// The function's ARN.
    pub fn arn(&self) -> Input {
        self.output("arn")
    }
}

impl Handle<HttpApi> {
    /// The API id.
    pub fn api_id(&self) -> Input {
        self.output("id")
    }
}

impl Handle<Stage> {
    /// The stage's invoke URL.
    pub fn url(&self) -> Input {
        self.output("url")
    }
}

impl Handle<UserPoolDomain> {
    /// The hosted sign-in URL.
    pub fn url(&self) -> Input {
        self.output("url")
    }
}

impl Handle<Integration> {
    /// `integrations/<id>`, what a route targets.
    pub fn target(&self) -> Input {
        self.output("target")
    }
}

impl Handle<UserPool> {
    /// The pool's id.
    pub fn id(&self) -> Input {
        self.output("id")
    }
    /// The issuer of the pool's tokens.
    pub fn issuer(&self) -> Input {
        self.output("issuer")
    }
}

impl Handle<UserPoolClient> {
    /// The app client's id.
    pub fn id(&self) -> Input {
        self.output("id")
    }
}

impl Handle<Authorizer> {
    /// The authorizer's id.
    pub fn id(&self) -> Input {
        self.output("id")
    }
}

/// A declared stack: its nodes in declaration order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The stack's outputs (`apiUrl`, ...), by key, as links to the resources' outputs (like
    /// Pulumi's `export`): what [`crate::outputs::StackOutputs`] is made of.
    pub exports: Vec<(&'static str, Input)>,
}

impl Stack {
    /// Declares a stack output.
    pub fn export(&mut self, key: &'static str, value: Input) {
        self.exports.push((key, value));
    }

    /// Declares a resource.
    pub fn add<T: Resource>(&mut self, id: &str, resource: T) -> Handle<T> {
        self.add_after(id, resource, &[])
    }

    /// Declares a resource that must come after `after` (ids of nodes it uses no output of).
    pub fn add_after<T: Resource>(&mut self, id: &str, resource: T, after: &[&NodeId]) -> Handle<T> {
        self.nodes.push(Node {
            id: id.to_owned(),
            resource: Declared::new(resource),
            depends_on: after.iter().map(|s| (*s).clone()).collect(),
        });
        Handle { id: id.to_owned(), _kind: PhantomData }
    }
}

/// Everything the declaration needs to know.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// Names (project + stack).
    pub names: Names,
    /// User settings.
    pub config: StackConfig,
    /// The Lambda package.
    pub code: Code,
    /// Account and region.
    pub target: Target,
}

/// The managed policy every Lambda function needs to write its logs.
pub fn basic_execution_policy(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
}

/// What `destroy` looks for: the stack as declared and, when its mode is not `cognito`, the Cognito
/// resources a `cognito` declaration of it would own. Switching a stack away from `cognito` leaves its
/// pool (and the people in it) in place — `up` never deletes them silently — and `destroy` still
/// removes them.
pub fn declare_for_destroy(spec: &StackSpec) -> Stack {
    let mut stack = declare(spec);
    if spec.config.auth.mode != AuthMode::Cognito {
        let mut cognito = spec.clone();
        cognito.config.auth.mode = AuthMode::Cognito;
        let ids = ["user-pool", "user-pool-client", "user-pool-domain"];
        stack.nodes.extend(declare(&cognito).nodes.into_iter().filter(|n| ids.contains(&n.id.as_str())));
    }
    stack
}

/// Declares the todos stack.
pub fn declare(spec: &StackSpec) -> Stack {
    let n = &spec.names;
    let tags = n.tags();
    let t = &spec.target;
    let auth = &spec.config.auth;
    let signs_in = auth.mode.signs_in();
    let mut s = Stack::default();

    let (hash_key, range_key) = if signs_in { ("UserId", Some("Id".into())) } else { ("Id", None) };
    let table = s.add(
        "table",
        Table { name: n.table(), hash_key: hash_key.into(), range_key, target: t.clone(), tags: tags.clone() },
    );
    let role = s.add(
        "role",
        Role {
            name: n.role(),
            policy_name: n.role_policy(),
            table_arn: table.arn(),
            table_actions: if signs_in { &OWNER_TABLE_ACTIONS } else { &TABLE_ACTIONS },
            managed_policies: vec![basic_execution_policy(&t.partition)],
            target: t.clone(),
            tags: tags.clone(),
        },
    );
    let logs = s.add(
        "log-group",
        LogGroup { name: n.log_group(), retention_days: spec.config.function.log_retention_days, tags: tags.clone() },
    );
    let function = s.add_after(
        "function",
        Function {
            name: n.function(),
            role_arn: role.arn(),
            table_name: table.name(),
            // The contract with the function: it learns the mode from AUTH_MODE; without sign-in the
            // variable is absent, so that function is exactly what it was.
            env: if signs_in { BTreeMap::from([("AUTH_MODE".to_owned(), "jwt".to_owned())]) } else { BTreeMap::new() },
            runtime: "provided.al2023".into(),
            architecture: "arm64".into(),
            handler: "bootstrap".into(),
            memory_mb: spec.config.function.memory_mb,
            timeout_seconds: spec.config.function.timeout_seconds,
            code: spec.code.clone(),
            target: t.clone(),
            tags: tags.clone(),
        },
        &[logs.node()],
    );
    let cors = todos_routes::Cors::with_origins(spec.config.api.cors_allow_origins.clone());
    let cors = if signs_in { cors.with_authorization() } else { cors };
    let api = s.add(
        "http-api",
        HttpApi {
            name: n.http_api(),
            cors: CorsSpec::from_contract(&cors),
            region: t.region.clone(),
            tags: tags.clone(),
        },
    );
    let integration =
        s.add("integration", Integration { api_id: api.api_id(), function_arn: function.arn(), timeout_ms: 3000 });
    let authorizer = match auth.mode {
        AuthMode::None => None,
        AuthMode::Jwt => {
            let audience = auth.audiences.first();
            let exports = [
                ("issuer", auth.issuer.as_ref()),
                ("audience", audience),
                ("clientId", auth.client_id.as_ref().or(audience)),
                ("scopes", Some(&SCOPES.to_owned())),
            ];
            for (key, value) in exports {
                if let Some(v) = value {
                    s.export(key, Input::known(v.clone()));
                }
            }
            Some(s.add(
                "authorizer",
                Authorizer {
                    api_id: api.api_id(),
                    name: n.authorizer(),
                    issuer: Input::known(auth.issuer.clone().unwrap_or_default()),
                    audiences: auth.audiences.iter().map(|a| Input::known(a.clone())).collect(),
                },
            ))
        }
        AuthMode::Cognito => {
            let pool =
                s.add("user-pool", UserPool { name: n.user_pool(), region: t.region.clone(), tags: tags.clone() });
            let client = s.add(
                "user-pool-client",
                UserPoolClient {
                    user_pool_id: pool.id(),
                    name: n.user_pool_client(),
                    callback_urls: auth.callback_urls.clone(),
                    logout_urls: auth.logout_urls.clone(),
                },
            );
            let domain = s.add(
                "user-pool-domain",
                UserPoolDomain {
                    user_pool_id: pool.id(),
                    domain: auth.domain_prefix(&n.project, &n.stack, &t.account),
                    region: t.region.clone(),
                },
            );
            s.export("issuer", pool.issuer());
            s.export("audience", client.id());
            s.export("clientId", client.id());
            s.export("scopes", Input::known(SCOPES));
            s.export("hostedUiUrl", domain.url());
            Some(s.add(
                "authorizer",
                Authorizer {
                    api_id: api.api_id(),
                    name: n.authorizer(),
                    issuer: pool.issuer(),
                    audiences: vec![client.id()],
                },
            ))
        }
    };
    for r in todos_routes::ROUTES {
        s.add(
            &format!("route:{}", r.key()),
            Route {
                api_id: api.api_id(),
                route_key: r.key(),
                target: integration.target(),
                authorizer_id: authorizer.as_ref().map(|a| a.id()),
            },
        );
    }
    let stage = s.add(
        "stage",
        Stage {
            api_id: api.api_id(),
            name: spec.config.api.stage.clone(),
            auto_deploy: true,
            burst_limit: spec.config.api.throttling_burst_limit,
            rate_limit: spec.config.api.throttling_rate_limit,
            region: t.region.clone(),
            tags,
        },
    );
    s.export("apiUrl", stage.url());
    s.export("apiId", api.api_id());
    s.export("functionName", function.name());
    s.export("tableName", table.name());
    s.export("region", Input::known(t.region.clone()));
    s.export("authMode", Input::known(auth.mode.as_str()));
    let (partition, region, account) = (t.partition.clone(), t.region.clone(), t.account.clone());
    s.add(
        "permission",
        Permission {
            function_name: function.name(),
            statement_id: n.permission(),
            principal: "apigateway.amazonaws.com".into(),
            action: "lambda:InvokeFunction".into(),
            source_arn: api.api_id().map(move |id| permission::source_arn(&partition, &region, &account, id)),
        },
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{KNOWN_AFTER_APPLY, Outputs};
    use std::collections::HashMap;

    #[test]
    fn a_reference_resolves_through_its_map_or_becomes_unknown() {
        let mut input = Input::output("http-api", "id").map(|id| format!("arn:x:{id}/*/*/*"));
        let mut missing = input.clone();
        let outputs = HashMap::from([("http-api".to_owned(), Outputs::from([("id", "abc".to_owned())]))]);
        input.resolve(&outputs);
        assert_eq!(input.value(), Some("arn:x:abc/*/*/*"));
        missing.resolve(&HashMap::new());
        assert_eq!(missing.value(), None);
        assert_eq!(missing.display(), KNOWN_AFTER_APPLY);
        assert_eq!(missing.source().unwrap().node, "http-api");
    }

    #[test]
    fn names_are_derived_from_project_and_stack() {
        let n = Names::new("todos", "dev");
        assert_eq!(n.table(), "todos-dev");
        assert_eq!(n.function(), "todos-dev-api");
        assert_eq!(n.role(), "todos-dev-api-role");
        assert_eq!(n.log_group(), "/aws/lambda/todos-dev-api");
        assert_eq!(n.http_api(), "todos-dev-api");
        assert_eq!(n.tags()["managed-by"], "todos-iac");
        assert_eq!(n.tags()["stack"], "dev");
    }

    fn spec(auth: crate::config::AuthConfig) -> StackSpec {
        StackSpec {
            names: Names::new("todos", "dev"),
            config: StackConfig { auth, ..StackConfig::default() },
            code: Code::from_bytes(b"zip".to_vec()),
            target: Target { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() },
        }
    }

    fn find<'a, T: Resource>(stack: &'a Stack, id: &str) -> Option<&'a T> {
        stack.nodes.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("no node {id}")).resource.downcast_ref()
    }

    #[test]
    fn an_open_stack_declares_no_sign_in_resource() {
        let stack = declare(&spec(crate::config::AuthConfig::default()));
        assert_eq!(stack.nodes.len(), 11);
        let Some(f) = find::<Function>(&stack, "function") else { panic!() };
        assert!(f.env.is_empty(), "no AUTH_MODE without sign-in");
        let Some(r) = find::<Route>(&stack, "route:GET /todos") else { panic!() };
        assert_eq!(r.authorizer_id, None);
    }

    #[test]
    fn a_cognito_stack_links_pool_client_domain_authorizer_and_routes() {
        let auth = crate::config::AuthConfig { mode: AuthMode::Cognito, ..Default::default() };
        let stack = declare(&spec(auth));
        assert_eq!(stack.nodes.len(), 15);
        let Some(t) = find::<Table>(&stack, "table") else { panic!() };
        assert_eq!((t.hash_key.as_str(), t.range_key.as_deref()), ("UserId", Some("Id")));
        let Some(role) = find::<Role>(&stack, "role") else { panic!() };
        assert_eq!(role.table_actions, OWNER_TABLE_ACTIONS);
        let Some(f) = find::<Function>(&stack, "function") else { panic!() };
        assert_eq!(f.env["AUTH_MODE"], "jwt");
        let Some(api) = find::<HttpApi>(&stack, "http-api") else { panic!() };
        assert!(api.cors.allow_headers.contains(&"authorization".to_owned()));
        let Some(d) = find::<UserPoolDomain>(&stack, "user-pool-domain") else { panic!() };
        assert_eq!(d.domain, "todos-dev-123456789012");
        let Some(a) = find::<Authorizer>(&stack, "authorizer") else { panic!() };
        assert_eq!(a.issuer.source().map(|s| (s.node.as_str(), s.key)), Some(("user-pool", "issuer")));
        assert_eq!(a.audiences[0].source().map(|s| (s.node.as_str(), s.key)), Some(("user-pool-client", "id")));
        for r in todos_routes::ROUTES {
            let Some(route) = find::<Route>(&stack, &format!("route:{}", r.key())) else { panic!() };
            let src = route.authorizer_id.as_ref().and_then(|i| i.source()).map(|s| (s.node.as_str(), s.key));
            assert_eq!(src, Some(("authorizer", "id")), "{}", r.key());
        }
        crate::engine::graph::Graph::new(&stack).unwrap();
    }

    #[test]
    fn a_jwt_stack_has_only_the_authorizer_with_the_configured_issuer_and_audiences() {
        let auth = crate::config::AuthConfig {
            mode: AuthMode::Jwt,
            issuer: Some("https://idp.example.com".into()),
            audiences: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        let stack = declare(&spec(auth));
        assert_eq!(stack.nodes.len(), 12);
        let Some(a) = find::<Authorizer>(&stack, "authorizer") else { panic!() };
        assert_eq!(a.issuer.value(), Some("https://idp.example.com"));
        assert_eq!(a.audiences.iter().filter_map(|i| i.value()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(stack.nodes.iter().all(|n| !n.id.starts_with("user-pool")));
        crate::engine::graph::Graph::new(&stack).unwrap();
    }

    #[test]
    fn destroy_of_a_stack_without_cognito_still_looks_for_its_pool() {
        let open = declare_for_destroy(&spec(crate::config::AuthConfig::default()));
        let ids: Vec<&str> = open.nodes.iter().map(|n| n.id.as_str()).filter(|i| i.starts_with("user-pool")).collect();
        assert_eq!(ids, ["user-pool", "user-pool-client", "user-pool-domain"]);
        crate::engine::graph::Graph::new(&open).unwrap();
        let cognito = crate::config::AuthConfig { mode: AuthMode::Cognito, ..Default::default() };
        assert_eq!(declare_for_destroy(&spec(cognito.clone())), declare(&spec(cognito)));
    }
}

// The graph of the declared stack (moved from `engine/graph.rs`, which knows no resource kind).
#[cfg(test)]
mod graph_tests {
    use crate::config::StackConfig;
    use crate::engine::graph::Graph;
    use crate::error::IacError;
    use crate::resources::function::Code;
    use crate::resources::test_support::target;
    use crate::stack::Stack;
    use crate::stack::{Names, StackSpec, declare};

    fn graph() -> Graph {
        let spec = StackSpec {
            names: Names::new("todos", "dev"),
            config: StackConfig::default(),
            code: Code::from_bytes(b"zip".to_vec()),
            target: target(),
        };
        Graph::new(&declare(&spec)).unwrap()
    }

    #[test]
    fn graph_comes_from_the_links_between_resources() {
        let g = graph();
        let deps = |id: &str| g.deps[id].clone();
        assert_eq!(deps("role"), vec!["table"]);
        assert_eq!(deps("function"), vec!["log-group", "role", "table"]);
        assert_eq!(deps("integration"), vec!["function", "http-api"]);
        assert_eq!(deps("route:GET /todos"), vec!["http-api", "integration"]);
        assert_eq!(deps("permission"), vec!["function", "http-api"]);
        assert_eq!(deps("stage"), vec!["http-api"]);
        assert!(deps("table").is_empty() && deps("http-api").is_empty() && deps("log-group").is_empty());
    }

    #[test]
    fn order_puts_every_dependency_first_and_has_the_three_routes_from_the_contract() {
        let g = graph();
        for (node, deps) in &g.deps {
            for d in deps {
                assert!(g.position(d) < g.position(node), "{d} before {node}");
            }
        }
        let routes: Vec<&str> = g.nodes.iter().filter_map(|n| n.id.strip_prefix("route:")).collect();
        assert_eq!(routes, vec!["GET /todos", "POST /todos", "DELETE /todos/{id}"]);
        assert_eq!(g.nodes.len(), 11);
    }

    #[test]
    fn a_cycle_or_dangling_reference_is_reported() {
        use crate::engine::Input;
        use crate::resources::route::Route;
        let mut s = Stack::default();
        s.add(
            "a",
            Route {
                api_id: Input::output("b", "id"),
                route_key: "GET /a".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        s.add(
            "b",
            Route {
                api_id: Input::output("a", "id"),
                route_key: "GET /b".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        assert!(matches!(Graph::new(&s), Err(IacError::Graph(m)) if m.contains("cycle")));
        let mut s = Stack::default();
        s.add(
            "a",
            Route {
                api_id: Input::output("zz", "id"),
                route_key: "GET /a".into(),
                target: Input::known("t"),
                authorizer_id: None,
            },
        );
        assert!(matches!(Graph::new(&s), Err(IacError::Graph(m)) if m.contains("zz")));
    }
}
