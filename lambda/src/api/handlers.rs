//! The three handlers: plain async functions of decoded input, the request's [`Owner`] and a store.
//!
//! The owner is never written into a response and never logged: it is a user id.

use std::time::Instant;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use tracing::instrument;

use super::{ApiConfig, ApiError, ApiResponse};
use crate::domain::{Owner, is_uuid, validate_todo};
use crate::routes::NEXT_CURSOR_HEADER;
use crate::store::{StoreError, TodoStore};

/// Most items asked of the store in one call; bounds the memory of one step of a listing.
const STORE_BATCH: usize = 1000;

/// `GET /todos[?limit=N][&cursor=C]`: a JSON array of todos. When more remain (because of `limit`, the
/// response size cap or the time budget) the response carries the `x-next-cursor` header; a client that
/// ignores it still gets a valid array.
#[instrument(skip(owner, store, config), err(Display, level = "debug"))]
pub async fn list_todos(
    limit: Option<&str>,
    cursor: Option<&str>,
    owner: &Owner,
    store: &dyn TodoStore,
    config: &ApiConfig,
) -> Result<ApiResponse, ApiError> {
    let started = Instant::now();
    let limit = match limit {
        None => usize::MAX,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=config.max_page_limit).contains(&n) => n,
            _ => return Err(ApiError::BadLimit { max: config.max_page_limit }),
        },
    };
    let mut start_after = match cursor {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or(ApiError::BadRequest("cursor is not one this API issued"))?),
    };

    let mut body: Vec<u8> = Vec::with_capacity(4096);
    body.push(b'[');
    // The body becomes a JSON string in the response document: its quotes count as well as "[" and "]".
    let mut escaped_size = escaped_len(b"[]") + 2;
    let mut count = 0usize;
    let mut next: Option<String> = None;
    'pages: loop {
        let want = (limit - count).min(STORE_BATCH);
        let Some(remaining) = config.request_deadline.checked_sub(started.elapsed()) else {
            return Err(ApiError::Timeout);
        };
        let page = match tokio::time::timeout(remaining, store.list(owner, start_after.as_deref(), want)).await {
            Ok(page) => page?,
            Err(_) => return Err(ApiError::Timeout),
        };
        for (i, todo) in page.todos.iter().enumerate() {
            let mark = body.len();
            if count > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, todo).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let size = escaped_len(&body[mark..]);
            if escaped_size + size > config.max_list_bytes {
                if count == 0 {
                    // Cannot happen with the default cap (an item is at most 400 KB, 2.8 MB escaped), only
                    // with a misconfigured one; an empty page without a cursor would hide the rest.
                    return Err(StoreError::Corrupt(format!("todo {} alone is over the list cap", todo.id)).into());
                }
                body.truncate(mark);
                next = match i {
                    0 => start_after,
                    _ => Some(page.todos[i - 1].id.clone()),
                };
                break 'pages;
            }
            escaped_size += size;
            count += 1;
        }
        match page.last_key {
            None => break,
            Some(key) => {
                if count >= limit || (count > 0 && started.elapsed() >= config.list_soft_deadline) {
                    next = Some(key);
                    break;
                }
                start_after = Some(key);
            }
        }
    }
    body.push(b']');
    let body = String::from_utf8(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut response = ApiResponse::json(200, body);
    if let Some(key) = next {
        response.headers.push((NEXT_CURSOR_HEADER, encode_cursor(&key)));
    }
    Ok(response)
}

/// `POST /todos`: validate the JSON body and insert or replace the todo; 204 on success.
#[instrument(skip_all, err(Display, level = "debug"))]
pub async fn put_todo(
    body: Option<&[u8]>,
    owner: &Owner,
    store: &dyn TodoStore,
    config: &ApiConfig,
) -> Result<ApiResponse, ApiError> {
    let body = body.filter(|b| !b.iter().all(u8::is_ascii_whitespace));
    let Some(body) = body else {
        return Err(ApiError::BadRequest("request body must be a JSON object"));
    };
    if body.len() > config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge { limit: config.max_body_bytes });
    }
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::BadRequest("request body must be UTF-8 JSON"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::BadRequest("request body is not valid JSON"))?;
    let Value::Object(object) = value else {
        return Err(ApiError::BadRequest("request body must be a JSON object"));
    };
    let todo = validate_todo(&object).map_err(ApiError::Validation)?;
    // `validate_todo` keeps only the contract's fields: a `userId`/`owner` in the body goes nowhere.
    store.put(owner, &todo).await?;
    Ok(ApiResponse::no_content())
}

/// `DELETE /todos/{id}`: delete the todo; 204 whether or not it existed.
#[instrument(skip(owner, store), err(Display, level = "debug"))]
pub async fn delete_todo(id: &str, owner: &Owner, store: &dyn TodoStore) -> Result<ApiResponse, ApiError> {
    if !is_uuid(id) {
        return Err(ApiError::BadRequest("id must be a UUID"));
    }
    store.delete(owner, id).await?;
    Ok(ApiResponse::no_content())
}

/// Cursors are the last key of the previous page in unpadded base64url, so clients treat them as
/// opaque. Any well-formed cursor is accepted (a key that no todo has still marks a position in the
/// order), so decoding is lenient about padding and trailing bits.
const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Longest key a cursor may carry, in bytes (DynamoDB's hash key limit is 2048).
const MAX_CURSOR_KEY_BYTES: usize = 1024;

fn encode_cursor(key: &str) -> String {
    CURSOR.encode(key)
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = CURSOR.decode(cursor).ok()?;
    if bytes.is_empty() || bytes.len() > MAX_CURSOR_KEY_BYTES {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Length of `json`, which serde_json wrote, once written as a JSON string inside the Lambda response
/// document. serde_json escapes every control character itself, so only `"` and `\` gain a byte.
fn escaped_len(json: &[u8]) -> usize {
    debug_assert!(!json.iter().any(|b| *b < 0x20), "serde_json output never holds a raw control character");
    json.len() + memchr::memchr2_iter(b'"', b'\\', json).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_length_counts_json_string_escapes() {
        for text in ["plain", "quote \" and \\ backslash", "tab\tnew\nline\u{1}\u{1f}\u{7f}", "é ✓ 😀 </script>"] {
            let json = serde_json::to_vec(&serde_json::json!({"description": text, "n": [1, "x"]})).unwrap();
            let in_document = serde_json::to_string(std::str::from_utf8(&json).unwrap()).unwrap();
            assert_eq!(escaped_len(&json) + 2, in_document.len(), "{text:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let id = "3f2b8f9e-2a4c-4f6e-9d1a-7b5c3e2d1f00";
        assert_eq!(decode_cursor(&encode_cursor(id)).as_deref(), Some(id));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(decode_cursor("0"), None, "one base64 character cannot encode a byte");
        assert_eq!(decode_cursor(&"A".repeat(2000)), None, "too long");
        assert!(decode_cursor("AB").is_some(), "any well-formed cursor is a position");
        assert!(decode_cursor(&CURSOR.encode([0xff, 0xfe])).is_some());
    }
}
