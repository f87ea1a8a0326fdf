//! The HTTP API and its CORS configuration (taken from the `todos` crate's contract). HTTP API names
//! are not unique in AWS, so ours is found by name *and* tags.
//!
//! Two `up`s of the same stack started at once both see no API and both create one. There is no
//! AWS-side compare-and-set for "create if no API with this name exists", and a lock would need
//! storage of its own (the stack's table is itself a resource of the stack) plus stale-lock
//! breaking after a crash. Instead the creators *converge* ([`converge_after_create`]): after
//! `CreateApi` each one waits [`SETTLE`] (longer than the 1 s granularity of `CreatedDate`), lists
//! the APIs with our name and tags, and the oldest by (`CreatedDate`, `ApiId`) wins. Every creator
//! picks the same winner: an API that a creator's listing cannot see yet was created after that
//! listing, i.e. more than 1 s after the creator's own API, so it has a strictly later
//! `CreatedDate` and cannot be the oldest. The creator of the winner carries on; every other
//! creator deletes the API *it* created (never another's) and stops with
//! [`IacError::ConcurrentUp`] before building anything inside an API, so routes, integrations and
//! stages are only ever built by one run. A duplicate left by a creator killed inside that window
//! is found by `read` (which always answers the oldest) and deleted by the next `up` or `destroy`.

use aws_sdk_apigatewayv2::types::{Cors, ProtocolType};

use std::collections::HashMap;

use super::Tags;
use super::integration::{self, Integration, IntegrationState};
use super::route::{self, Route, RouteState};
use crate::aws::{Aws, aws_error, gone};
use crate::engine::plan::Step;
use crate::engine::{Change, Diff, NodeId, Observed, Outputs, Resource, State, carries_tags, diff_tags, tags_display};
use crate::error::IacError;

/// CORS settings in the form the HTTP API holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSpec {
    /// Allowed origins.
    pub allow_origins: Vec<String>,
    /// Allowed methods (upper case).
    pub allow_methods: Vec<String>,
    /// Allowed request headers (lower case).
    pub allow_headers: Vec<String>,
    /// Exposed response headers (lower case).
    pub expose_headers: Vec<String>,
    /// Preflight cache, seconds.
    pub max_age: i32,
    /// Credentials allowed.
    pub allow_credentials: bool,
}

impl CorsSpec {
    /// The contract's CORS setting, canonicalised.
    pub fn from_contract(cors: &todos_routes::Cors) -> CorsSpec {
        CorsSpec {
            allow_origins: cors.allow_origins.clone(),
            allow_methods: cors.allow_methods.iter().map(|m| m.to_string()).collect(),
            allow_headers: cors.allow_headers.iter().map(|h| h.to_string()).collect(),
            expose_headers: cors.expose_headers.iter().map(|h| h.to_string()).collect(),
            max_age: i32::try_from(cors.max_age_seconds).unwrap_or(i32::MAX),
            allow_credentials: cors.allow_credentials,
        }
        .canonical()
    }

    fn from_live(c: &Cors) -> CorsSpec {
        CorsSpec {
            allow_origins: c.allow_origins().to_vec(),
            allow_methods: c.allow_methods().to_vec(),
            allow_headers: c.allow_headers().to_vec(),
            expose_headers: c.expose_headers().to_vec(),
            max_age: c.max_age().unwrap_or(0),
            allow_credentials: c.allow_credentials().unwrap_or(false),
        }
        .canonical()
    }

    /// Sorted, with the case API Gateway treats as equal folded.
    fn canonical(mut self) -> CorsSpec {
        let fold = |v: &mut Vec<String>, upper: bool| {
            for s in v.iter_mut() {
                *s = if upper { s.to_ascii_uppercase() } else { s.to_ascii_lowercase() };
            }
            v.sort();
            v.dedup();
        };
        self.allow_origins.sort();
        fold(&mut self.allow_methods, true);
        fold(&mut self.allow_headers, false);
        fold(&mut self.expose_headers, false);
        self
    }

    fn to_sdk(&self) -> Cors {
        Cors::builder()
            .set_allow_origins(Some(self.allow_origins.clone()))
            .set_allow_methods(Some(self.allow_methods.clone()))
            .set_allow_headers(Some(self.allow_headers.clone()))
            .set_expose_headers(Some(self.expose_headers.clone()))
            .max_age(self.max_age)
            .allow_credentials(self.allow_credentials)
            .build()
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("cors.allow_origins", self.allow_origins.join(",")),
            ("cors.allow_methods", self.allow_methods.join(",")),
            ("cors.allow_headers", self.allow_headers.join(",")),
            ("cors.expose_headers", self.expose_headers.join(",")),
            ("cors.max_age", self.max_age.to_string()),
            ("cors.allow_credentials", self.allow_credentials.to_string()),
        ]
    }
}

/// The declared HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpApi {
    /// API name, e.g. `todos-dev-api`.
    pub name: String,
    /// CORS.
    pub cors: CorsSpec,
    /// Region (for the tagging ARN).
    pub region: String,
    /// Our tags.
    pub tags: Tags,
}

/// The live HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpApiState {
    /// API id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `https://<id>.execute-api.<region>.amazonaws.com`.
    pub endpoint: String,
    /// CORS, if configured.
    pub cors: Option<CorsSpec>,
    /// Tags.
    pub tags: Tags,
    /// Ids of other APIs with our name and tags, newer than this one: duplicates to delete.
    pub duplicates: Vec<String>,
}

/// How long a creator waits after `CreateApi` before checking for a concurrent creator: more than
/// the 1 s granularity of `CreatedDate` (see the module documentation).
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(1100);

impl HttpApi {
    fn label(&self) -> String {
        format!("http api {}", self.name)
    }
}

impl State for HttpApiState {
    /// `id`, `endpoint`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone()), ("endpoint", self.endpoint.clone())])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Deletes the API (with its routes, integrations and stages).
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        delete_api(aws, &self.name, &self.id).await
    }
}

/// Every API with our name and our tags, oldest first by (`CreatedDate`, `ApiId`). Look-alikes
/// without our tags are ignored (never adopted, never deleted).
async fn list_ours(aws: &Aws, desired: &HttpApi) -> Result<Vec<HttpApiState>, IacError> {
    let label = desired.label();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..1000 {
        let out = aws
            .apigw
            .get_apis()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(&label, "GetApis", e))?;
        for api in out.items() {
            let tags: Tags =
                api.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            if api.name() == Some(desired.name.as_str()) && carries_tags(&tags, &desired.tags) {
                let created = api.created_date().map(|d| (d.secs(), d.subsec_nanos())).unwrap_or((i64::MAX, 0));
                found.push((
                    created,
                    HttpApiState {
                        id: api.api_id().unwrap_or_default().to_owned(),
                        name: desired.name.clone(),
                        endpoint: api.api_endpoint().unwrap_or_default().to_owned(),
                        cors: api.cors_configuration().map(CorsSpec::from_live),
                        tags,
                        duplicates: Vec::new(),
                    },
                ));
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    found.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.id.cmp(&y.id)));
    Ok(found.into_iter().map(|(_, s)| s).collect())
}

/// After creating `ours`: waits [`SETTLE`] (or what `aws.settle` says), then keeps it only if it is the oldest API with our
/// name and tags; otherwise deletes it and stops with [`IacError::ConcurrentUp`].
pub async fn converge_after_create(aws: &Aws, desired: &HttpApi, ours: &str) -> Result<(), IacError> {
    // Injectable (`Aws::settle`): tests without a concurrent creator set it to zero.
    tokio::time::sleep(aws.settle).await;
    let all = list_ours(aws, desired).await?;
    match all.first() {
        Some(winner) if winner.id != ours => {
            delete_api(aws, &desired.name, ours).await?;
            Err(IacError::ConcurrentUp { resource: desired.label(), winner: winner.id.clone(), ours: ours.to_owned() })
        }
        _ => Ok(()),
    }
}

async fn delete_api(aws: &Aws, name: &str, id: &str) -> Result<(), IacError> {
    let result = aws.apigw.delete_api().api_id(id).send().await;
    gone(
        result,
        aws_sdk_apigatewayv2::operation::delete_api::DeleteApiError::is_not_found_exception,
        &format!("http api {name} ({id})"),
        "DeleteApi",
    )
}

impl Resource for HttpApi {
    type State = HttpApiState;
    const KIND: &'static str = "http api";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Names are not unique: a concurrent creator is handled by [`converge_after_create`].
    fn adopts_after_failed_create(&self) -> bool {
        false
    }

    /// Pure diff: CORS and tags change in place.
    fn diff(&self, observed: Option<&HttpApiState>) -> Change {
        let Some(live) = observed else {
            let mut props = vec![("name", self.name.clone()), ("protocol", "HTTP".to_owned())];
            props.extend(self.cors.fields());
            props.push(("tags", tags_display(&self.tags)));
            return Change::create(props);
        };
        let mut d = Diff::new();
        let live_fields = live.cors.as_ref().map(CorsSpec::fields);
        for (i, (name, want)) in self.cors.fields().into_iter().enumerate() {
            d.field(name, live_fields.as_ref().map(|f| f[i].1.clone()), want);
        }
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Finds our API: same name and our tags. When several exist (a concurrent `up`, or one killed
    /// while converging), the oldest is ours and the others are listed as its `duplicates`.
    async fn read(&self, aws: &Aws) -> Result<Option<HttpApiState>, IacError> {
        let mut found = list_ours(aws, self).await?.into_iter();
        Ok(found.next().map(|first| HttpApiState { duplicates: found.map(|d| d.id).collect(), ..first }))
    }

    /// Creates the API (tags in the same call, so a crash never leaves an untagged one) or updates CORS/tags.
    async fn apply(&self, aws: &Aws, observed: Option<&HttpApiState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let Some(live) = observed else {
            let created = aws
                .apigw
                .create_api()
                .name(&self.name)
                .protocol_type(ProtocolType::Http)
                .cors_configuration(self.cors.to_sdk())
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_error(&label, "CreateApi", e))?;
            return converge_after_create(aws, self, created.api_id().unwrap_or_default()).await;
        };
        if change.properties.iter().any(|p| p.name.starts_with("cors.")) {
            aws.apigw
                .update_api()
                .api_id(&live.id)
                .cors_configuration(self.cors.to_sdk())
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateApi", e))?;
        }
        if change.touches("tags") {
            aws.apigw
                .tag_resource()
                .resource_arn(format!(
                    "arn:{}:apigateway:{}::/apis/{}",
                    crate::aws::partition_of(&self.region),
                    self.region,
                    live.id
                ))
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_error(&label, "TagResource", e))?;
        }
        Ok(())
    }

    /// Newer copies of our API (a concurrent `up` killed while converging), integrations no route
    /// points at other than ours (left by two runs building the same new API at once; one still
    /// targeted is kept until the routes are retargeted, so nothing is deleted from under a route),
    /// and routes that are no longer declared or duplicate a declared one.
    async fn strays(&self, aws: &Aws, id: &NodeId, api: &HttpApiState, steps: &[Step]) -> Result<Vec<Step>, IacError> {
        let mut found = Vec::new();
        for dup in &api.duplicates {
            let copy = HttpApiState {
                id: dup.clone(),
                endpoint: String::new(),
                cors: None,
                duplicates: Vec::new(),
                ..api.clone()
            };
            let name = format!("{} (duplicate {dup})", api.name);
            found.push(Step::removal(format!("{id}:duplicate:{dup}"), Self::KIND, name, Observed::new(copy)));
        }
        let declared: Vec<&str> = steps
            .iter()
            .filter_map(|s| s.desired.as_ref()?.downcast_ref::<Route>())
            .map(|r| r.route_key.as_str())
            .collect();
        let kept_routes: HashMap<&str, &str> = steps
            .iter()
            .filter(|s| s.desired.is_some())
            .filter_map(|s| s.observed.as_ref()?.downcast_ref::<RouteState>())
            .map(|r| (r.route_key.as_str(), r.id.as_str()))
            .collect();
        let live_routes = route::list(aws, &api.id).await?;
        let kept_integration = steps
            .iter()
            .filter(|s| s.desired.as_ref().is_some_and(|d| d.downcast_ref::<Integration>().is_some()))
            .find_map(|s| s.observed.as_ref()?.downcast_ref::<IntegrationState>());
        if let Some(kept) = kept_integration {
            for i in integration::list(aws, &api.id).await? {
                let target = format!("integrations/{}", i.id);
                if i.id != kept.id && !live_routes.iter().any(|r| r.target.as_deref() == Some(target.as_str())) {
                    let name = format!("{} (duplicate)", i.id);
                    found.push(Step::removal(
                        format!("{id}:integration:{}", i.id),
                        Integration::KIND,
                        name,
                        Observed::new(i),
                    ));
                }
            }
        }
        for live in live_routes {
            let (stray_id, name) = if !declared.contains(&live.route_key.as_str()) {
                (format!("{id}:route:{}", live.route_key), live.route_key.clone())
            } else if kept_routes.get(live.route_key.as_str()).is_some_and(|kept| *kept != live.id) {
                (
                    format!("{id}:route:{}:duplicate:{}", live.route_key, live.id),
                    format!("{} (duplicate {})", live.route_key, live.id),
                )
            } else {
                continue;
            };
            found.push(Step::removal(stray_id, Route::KIND, name, Observed::new(live)));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::tags;

    fn desired(origins: Vec<String>) -> HttpApi {
        HttpApi {
            name: "todos-dev-api".into(),
            cors: CorsSpec::from_contract(&todos_routes::Cors::with_origins(origins)),
            region: "us-east-1".into(),
            tags: tags(),
        }
    }

    fn live() -> HttpApiState {
        HttpApiState {
            id: "abc123".into(),
            name: "todos-dev-api".into(),
            endpoint: "https://abc123.execute-api.us-east-1.amazonaws.com".into(),
            cors: Some(desired(vec![]).cors),
            tags: tags(),
            duplicates: vec![],
        }
    }

    #[test]
    fn cors_comes_from_the_contract_with_the_design_values() {
        let c = desired(vec![]).cors;
        assert_eq!(c.allow_origins, vec!["*"]);
        assert_eq!(c.allow_methods, vec!["DELETE", "GET", "POST"]);
        assert_eq!(c.allow_headers, vec!["content-type"]);
        assert_eq!(c.expose_headers, vec!["x-next-cursor"]);
        assert_eq!(c.max_age, 7200);
        assert!(!c.allow_credentials);
    }

    #[test]
    fn cors_equal_up_to_order_and_case_is_unchanged() {
        let mut l = live();
        let cors = l.cors.as_mut().unwrap();
        cors.allow_methods = vec!["POST".into(), "GET".into(), "DELETE".into()];
        cors.allow_headers = vec!["Content-Type".into()];
        let l = HttpApiState { cors: Some(cors.clone().canonical()), ..l };
        assert_eq!(desired(vec![]).diff(Some(&l)), Change::unchanged());
    }

    #[test]
    fn configured_origins_update_only_the_origins() {
        let c = desired(vec!["http://localhost:8100".into()]).diff(Some(&live()));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(c.properties[0].name, "cors.allow_origins");
        assert_eq!(c.properties[0].old.as_deref(), Some("*"));
    }
}
