//! [`ApiError`]: every way a request can fail, mapped to status and body in exactly one place.

use serde_json::json;

use super::ApiResponse;
use crate::domain::FieldErrors;
use crate::store::StoreError;

/// A failed request. Client errors carry their message to the client; back-end errors are logged with
/// their source and answered with a generic body (no SDK message, table name or trace ever leaves).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 400: `limit` is not an integer from 1 to the largest page the API serves.
    #[error("bad request: limit must be an integer from 1 to {max}")]
    BadLimit {
        /// The largest accepted `limit`.
        max: usize,
    },
    /// 413: the body is larger than the API accepts.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 422: the body is JSON but breaks the contract; every failing field.
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// 401: sign-in is on and the request carries no owner (no `sub` claim from the authorizer).
    /// The body is API Gateway's own, so a client sees one answer whichever layer refused it.
    #[error("unauthorized")]
    Unauthorized,
    /// 404: no such route.
    #[error("not found")]
    NotFound,
    /// 405: known path, other method.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    /// 503: the store failed or was too slow; 500 when it holds data it cannot read
    /// ([`StoreError::Corrupt`]).
    #[error("store failed")]
    Store(#[from] StoreError),
    /// 503: the request ran out of time.
    #[error("request deadline exceeded")]
    Timeout,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) | ApiError::BadLimit { .. } => 400,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::Unauthorized => 401,
            ApiError::Validation(_) => 422,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Store(StoreError::Corrupt(_)) => 500,
            ApiError::Store(_) | ApiError::Timeout => 503,
        }
    }

    /// The response for this error; back-end errors are logged here, once.
    pub fn into_response(self) -> ApiResponse {
        let status = self.status();
        let body = match &self {
            ApiError::BadRequest(msg) => json!({ "message": msg }),
            ApiError::BadLimit { max } => json!({ "message": format!("limit must be an integer from 1 to {max}") }),
            ApiError::PayloadTooLarge { limit } => {
                json!({ "message": format!("request body is larger than {limit} bytes") })
            }
            ApiError::Validation(errors) => json!({ "fieldErrors": errors }),
            ApiError::Unauthorized => json!({ "message": "Unauthorized" }),
            ApiError::NotFound => json!({ "message": "not found" }),
            ApiError::MethodNotAllowed(_) => json!({ "message": "method not allowed" }),
            ApiError::Store(StoreError::Corrupt(_)) => json!({ "message": "internal error" }),
            ApiError::Store(_) | ApiError::Timeout => {
                json!({ "message": "the service is temporarily unavailable, try again" })
            }
        };
        if status >= 500 {
            tracing::error!(status, error = %error_chain(&self), "request failed");
        }
        let mut response = ApiResponse::json(status, body.to_string());
        match self {
            ApiError::MethodNotAllowed(allowed) => response.headers.push(("allow", allowed.join(", "))),
            ApiError::Store(StoreError::Unavailable { .. }) | ApiError::Timeout => {
                response.headers.push(("retry-after", "1".to_owned()));
            }
            _ => {}
        }
        response
    }
}

/// `error: cause: cause…`, for logs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
