//! Validation and decoding of a todo: arbitrary bytes → JSON → `validate_todo`.
//!
//! Invariants: nothing panics; an accepted todo satisfies every rule of the contract and survives a
//! serialise → parse → validate round trip unchanged; `is_due_date` agrees with an independent oracle
//! built on the `time` crate's calendar, both on the body's `dueDate` and on the raw input as a string.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use todos::domain::{MAX_DESCRIPTION_CHARS, is_due_date, is_uuid, validate_todo};

fuzz_target!(|data: &[u8]| {
    // The raw input as a candidate date string, so the oracle sees short, exact inputs too.
    if let Ok(s) = std::str::from_utf8(data) {
        check_due_date(s);
    }

    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match &value {
        Value::Object(object) => {
            if let Some(Value::String(due)) = object.get("dueDate") {
                check_due_date(due);
            }
            check_todo(object);
        }
        Value::String(s) => check_due_date(s),
        _ => {}
    }
});

fn check_todo(object: &serde_json::Map<String, Value>) {
    let result = validate_todo(object);
    let todo = match result {
        Ok(todo) => todo,
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejected todo names at least one field");
            for field in errors.keys() {
                assert!(["id", "description", "priority", "dueDate"].contains(field), "unknown field {field}");
            }
            return;
        }
    };

    // Every rule of the contract holds for what was accepted.
    assert!(is_uuid(&todo.id), "accepted id {:?}", todo.id);
    assert!(uuid_oracle(&todo.id), "accepted id {:?} is not 8-4-4-4-12 hex", todo.id);
    let chars = todo.description.chars().count();
    assert!((1..=MAX_DESCRIPTION_CHARS).contains(&chars), "description of {chars} chars accepted");
    if let Some(due) = &todo.due_date {
        assert!(is_due_date(due), "accepted dueDate {due:?}");
        assert!(due_date_oracle(due), "accepted dueDate {due:?} the oracle rejects");
    }
    // Accepted fields are exactly the ones sent.
    assert_eq!(object.get("id").and_then(Value::as_str), Some(todo.id.as_str()));
    assert_eq!(object.get("description").and_then(Value::as_str), Some(todo.description.as_str()));
    assert_eq!(object.get("priority").and_then(Value::as_str), Some(todo.priority.as_str()));

    // Round trip: what we store and return validates back to the same todo.
    let text = serde_json::to_vec(&todo).expect("a todo serialises");
    let back: Value = serde_json::from_slice(&text).expect("a serialised todo is JSON");
    let back = back.as_object().expect("a serialised todo is an object");
    let again = validate_todo(back).unwrap_or_else(|e| panic!("round trip rejected {todo:?}: {e:?}"));
    assert_eq!(again, todo);
    // And as the stores read it back.
    let stored: todos::Todo = serde_json::from_slice(&text).expect("a stored todo deserialises");
    assert_eq!(stored, todo);
}

fn check_due_date(s: &str) {
    let ours = is_due_date(s);
    let oracle = due_date_oracle(s);
    assert_eq!(ours, oracle, "is_due_date({s:?}) = {ours}, oracle says {oracle}");
}

/// `YYYY-MM-DD[THH:MM[:SS]]` checked with the `time` crate's proleptic Gregorian calendar, parsed by
/// splitting on the separators rather than by byte offsets.
fn due_date_oracle(s: &str) -> bool {
    let (date, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let fields: Vec<&str> = date.split('-').collect();
    let [y, m, d] = fields.as_slice() else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else {
        return false;
    };
    let Ok(month) = time::Month::try_from(m as u8) else {
        return false;
    };
    if time::Date::from_calendar_date(y as i32, month, d as u8).is_err() {
        return false;
    }
    let Some(t) = time_part else {
        return true;
    };
    let parts: Vec<&str> = t.split(':').collect();
    let (h, min, sec) = match parts.as_slice() {
        [h, min] => (number(h, 2), number(min, 2), Some(0)),
        [h, min, sec] => (number(h, 2), number(min, 2), number(sec, 2)),
        _ => return false,
    };
    let (Some(h), Some(min), Some(sec)) = (h, min, sec) else {
        return false;
    };
    time::Time::from_hms(h as u8, min as u8, sec as u8).is_ok()
}

/// Exactly `width` ASCII digits.
fn number(s: &str, width: usize) -> Option<u32> {
    (s.len() == width && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().expect("digits parse"))
}

/// 8-4-4-4-12 hexadecimal groups.
fn uuid_oracle(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
