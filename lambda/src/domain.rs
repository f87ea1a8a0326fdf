//! The todo and its validation: the rules of the HTTP contract, independent of HTTP, Lambda and storage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest accepted description, in characters (Unicode scalar values).
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// Whose todos a request reads and writes.
///
/// Decided once per request by the entrypoint (from the authorizer's verified `sub` claim) and handed
/// to handlers and stores as data; nothing below the entrypoint knows tokens or claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Sign-in off (mode `none`): the one list everybody shares, in today's table keyed by `Id` alone.
    Everyone,
    /// Sign-in on: the todos of the user whose `sub` claim this is, and no one else's.
    User(String),
}

/// How urgent a todo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    Normal,
    /// Do it first.
    High,
}

impl Priority {
    /// The wire (and stored) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// Parses the exact wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            _ => None,
        }
    }
}

/// A validated todo, as stored and as returned by `GET /todos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    /// A UUID, chosen by the client.
    pub id: String,
    /// What to do; 1 to [`MAX_DESCRIPTION_CHARS`] characters.
    pub description: String,
    /// How urgent.
    pub priority: Priority,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, exactly as the client sent it; absent means none.
    #[serde(rename = "dueDate", skip_serializing_if = "Option::is_none", default)]
    pub due_date: Option<String>,
}

/// Field name → message, for every field that failed; serialised as the 422 body's `fieldErrors`.
pub type FieldErrors = BTreeMap<&'static str, String>;

const REQUIRED: &str = "required";

/// Validates a decoded JSON body against the contract and builds the todo, reporting every failing
/// field at once. Unknown fields are ignored (and so never stored).
pub fn validate_todo(body: &serde_json::Map<String, Value>) -> Result<Todo, FieldErrors> {
    let mut errors = FieldErrors::new();

    let id = required_string(body, "id", &mut errors);
    if let Some(id) = &id
        && !is_uuid(id)
    {
        errors.insert("id", "must be a UUID".to_owned());
    }

    let description = required_string(body, "description", &mut errors);
    if let Some(d) = &description
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        errors.insert("description", format!("must be at most {MAX_DESCRIPTION_CHARS} characters"));
    }

    let priority = required_string(body, "priority", &mut errors).and_then(|p| {
        let parsed = Priority::parse(&p);
        if parsed.is_none() {
            errors.insert("priority", "must be one of low, normal, high".to_owned());
        }
        parsed
    });

    let due_date = match body.get("dueDate") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) if is_due_date(s) => Some(s.clone()),
        Some(_) => {
            errors.insert("dueDate", "must be a date YYYY-MM-DD or a local date-time YYYY-MM-DDTHH:MM[:SS]".to_owned());
            None
        }
    };

    match (id, description, priority) {
        (Some(id), Some(description), Some(priority)) if errors.is_empty() => {
            Ok(Todo { id, description, priority, due_date })
        }
        _ => Err(errors),
    }
}

fn required_string(
    body: &serde_json::Map<String, Value>,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => {
            errors.insert(field, REQUIRED.to_owned());
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            errors.insert(field, REQUIRED.to_owned());
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.insert(field, "must be a string".to_owned());
            None
        }
    }
}

/// Whether `s` is a UUID in its hyphenated 8-4-4-4-12 form (either case).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// Whether `s` is `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` naming a real calendar date
/// and a real time of day.
pub fn is_due_date(s: &str) -> bool {
    let b = s.as_bytes();
    let date_ok = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(&b[0..4])
            .zip(digits(&b[5..7]))
            .zip(digits(&b[8..10]))
            .is_some_and(|((y, m), d)| (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
    if !date_ok {
        return false;
    }
    let time = &b[10..];
    match time.len() {
        0 => true,
        6 | 9 => {
            time[0] == b'T'
                && time[3] == b':'
                && digits(&time[1..3]).is_some_and(|h| h < 24)
                && digits(&time[4..6]).is_some_and(|m| m < 60)
                && (time.len() == 6 || (time[6] == b':' && digits(&time[7..9]).is_some_and(|s| s < 60)))
        }
        _ => false,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Todo, FieldErrors> {
        validate_todo(v.as_object().expect("object"))
    }

    const ID: &str = "3f2b8f9e-2a4c-4f6e-9d1a-7b5c3e2d1f00";

    #[test]
    fn a_complete_todo_is_accepted_and_unknown_fields_are_dropped() {
        let todo = check(json!({"id": ID, "description": "milk", "priority": "high",
            "dueDate": "2024-02-29T07:30", "extra": {"x": 1}}))
        .unwrap();
        assert_eq!(todo.due_date.as_deref(), Some("2024-02-29T07:30"));
        assert_eq!(
            serde_json::to_value(&todo).unwrap(),
            json!({"id": ID, "description": "milk", "priority": "high", "dueDate": "2024-02-29T07:30"})
        );
    }

    #[test]
    fn missing_or_empty_required_fields_are_all_reported_at_once() {
        let errs = check(json!({"id": "", "priority": null})).unwrap_err();
        assert_eq!(errs.get("id").map(String::as_str), Some("required"));
        assert_eq!(errs.get("description").map(String::as_str), Some("required"));
        assert_eq!(errs.get("priority").map(String::as_str), Some("required"));
        assert_eq!(errs.len(), 3);
    }

    #[test]
    fn wrong_values_and_types_are_reported_per_field() {
        let errs =
            check(json!({"id": "nope", "description": 5, "priority": "urgent", "dueDate": 20240101})).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert_eq!(errs["description"], "must be a string");
        assert!(errs["priority"].contains("low, normal, high"));
    }

    #[test]
    fn empty_or_null_due_date_means_none() {
        for due in [json!(""), Value::Null] {
            let t = check(json!({"id": ID, "description": "d", "priority": "low", "dueDate": due})).unwrap();
            assert_eq!(t.due_date, None);
        }
    }

    #[test]
    fn description_limit_counts_characters_not_bytes() {
        let ok = "é".repeat(MAX_DESCRIPTION_CHARS);
        assert!(check(json!({"id": ID, "description": ok, "priority": "low"})).is_ok());
        let long = "a".repeat(MAX_DESCRIPTION_CHARS + 1);
        let errs = check(json!({"id": ID, "description": long, "priority": "low"})).unwrap_err();
        assert!(errs.contains_key("description"));
    }

    #[test]
    fn due_dates_must_be_real_calendar_dates_in_one_of_three_shapes() {
        for ok in ["2024-02-29", "2023-12-31T23:59", "2025-01-01T00:00:59", "0001-01-01"] {
            assert!(is_due_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-1-01",
            "2024-01-01T24:00",
            "2024-01-01T10:60",
            "2024-01-01T10:00:60",
            "2024-01-01 10:00",
            "2024-01-01T10:00Z",
            "2024-01-01T10",
            "１２３４-01-01",
            "2024-01-01T10:00:00.000",
            "tomorrow",
            "",
        ] {
            assert!(!is_due_date(bad), "{bad}");
        }
    }

    #[test]
    fn ids_must_be_hyphenated_uuids() {
        assert!(is_uuid(ID));
        assert!(is_uuid(&ID.to_uppercase()));
        assert!(!is_uuid(&ID.replace('-', "")));
        assert!(!is_uuid(&format!("{{{ID}}}")));
        assert!(!is_uuid("urn:uuid:3f2b8f9e-2a4c-4f6e-9d1a-7b5c3e2d1f00"));
    }
}
