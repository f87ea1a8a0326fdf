//! `iac logs`: the function's log events from CloudWatch Logs (`FilterLogEvents`, polled when
//! following), one readable line each. The function's JSON lines show time, level, request id, route
//! key, status, latency and message; Lambda's own START / END / REPORT lines are folded into the
//! request they belong to (duration, billed duration, memory used, init duration on a cold start).
//!
//! The formatting ([`Folder`]) is pure and unit-tested; [`fetch`] is the only AWS call.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format as DateTimeFormat;
use serde_json::Value;

use crate::aws::{Aws, ErrorMeta};
use crate::error::IacError;

/// One log event as CloudWatch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The log stream (one per execution environment: lines of a stream are one request at a time).
    pub stream: String,
    /// The line.
    pub message: String,
    /// CloudWatch's id of the event (deduplicates polls).
    pub id: String,
}

/// Lambda's REPORT line, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// `Duration`, ms.
    pub duration_ms: Option<f64>,
    /// `Billed Duration`, ms.
    pub billed_ms: Option<f64>,
    /// `Memory Size`, MB.
    pub memory_mb: Option<u64>,
    /// `Max Memory Used`, MB.
    pub max_memory_mb: Option<u64>,
    /// `Init Duration`, ms: only on a cold start.
    pub init_ms: Option<f64>,
    /// `Status` (`timeout`, `error`) when the invocation did not end normally.
    pub status: Option<String>,
}

impl Report {
    /// `lambda 4.2 ms, billed 5 ms, memory 21/128 MB, cold start: init 45.7 ms`.
    pub fn render(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.status {
            parts.push(format!("status {s}"));
        }
        if let Some(d) = self.duration_ms {
            parts.push(format!("lambda {d:.1} ms"));
        }
        if let Some(b) = self.billed_ms {
            parts.push(format!("billed {b:.0} ms"));
        }
        match (self.max_memory_mb, self.memory_mb) {
            (Some(used), Some(size)) => parts.push(format!("memory {used}/{size} MB")),
            (Some(used), None) => parts.push(format!("memory {used} MB")),
            _ => {}
        }
        if let Some(i) = self.init_ms {
            parts.push(format!("cold start: init {i:.1} ms"));
        }
        parts.join(", ")
    }
}

/// What one line of the log group is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `START RequestId: <id> Version: $LATEST`.
    Start(String),
    /// `END RequestId: <id>`.
    End(String),
    /// `REPORT RequestId: <id>\tDuration: ...`.
    Report(String, Report),
    /// One of the function's JSON lines.
    Json(serde_json::Map<String, Value>),
    /// Anything else (INIT_START, a panic message, ...).
    Text(String),
}

fn number(field: &str) -> Option<f64> {
    field.split_whitespace().next().and_then(|n| n.parse().ok())
}

/// Classifies one line.
pub fn parse_line(message: &str) -> Line {
    let text = message.trim_end();
    let request_id = |rest: &str| rest.split_whitespace().next().unwrap_or_default().to_owned();
    if let Some(rest) = text.strip_prefix("START RequestId: ") {
        return Line::Start(request_id(rest));
    }
    if let Some(rest) = text.strip_prefix("END RequestId: ") {
        return Line::End(request_id(rest));
    }
    if let Some(rest) = text.strip_prefix("REPORT RequestId: ") {
        let mut fields = rest.split('\t').map(str::trim).filter(|f| !f.is_empty());
        let id = fields.next().unwrap_or_default().to_owned();
        let mut r = Report::default();
        for f in fields {
            let Some((name, value)) = f.split_once(": ") else { continue };
            match name {
                "Duration" => r.duration_ms = number(value),
                "Billed Duration" => r.billed_ms = number(value),
                "Memory Size" => r.memory_mb = number(value).map(|v| v as u64),
                "Max Memory Used" => r.max_memory_mb = number(value).map(|v| v as u64),
                "Init Duration" => r.init_ms = number(value),
                "Status" => r.status = Some(value.to_owned()),
                _ => {}
            }
        }
        return Line::Report(id, r);
    }
    if text.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text)
    {
        return Line::Json(map);
    }
    Line::Text(text.to_owned())
}

/// `2026-12-06T22:20:11.123Z` from milliseconds since the epoch (UTC; always three fraction digits,
/// so lines align, which the SDK's RFC 3339 format alone does not do: it drops trailing zeros).
pub fn format_time(ms: i64) -> String {
    let whole =
        DateTime::from_secs(ms.div_euclid(1000)).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| ms.to_string());
    let stem = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{stem}.{:03}Z", ms.rem_euclid(1000))
}

fn field_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One JSON line: `time LEVEL request-id route status latency message key=value...`.
pub fn format_json(timestamp: i64, map: &serde_json::Map<String, Value>, request: Option<&str>) -> String {
    let get = |k: &str| map.get(k).map(field_text);
    let level = get("level").unwrap_or_else(|| "-".to_owned());
    let mut parts = vec![format_time(timestamp), format!("{level:<5}")];
    if let Some(id) = get("request_id").or_else(|| request.map(str::to_owned)) {
        parts.push(id);
    }
    if let Some(route) = get("route_key") {
        parts.push(route);
    }
    if let Some(status) = get("status") {
        parts.push(status);
    }
    if let Some(latency) = map.get("latency_ms").and_then(Value::as_f64) {
        parts.push(format!("{latency:.1} ms"));
    }
    if let Some(m) = get("message") {
        parts.push(m);
    }
    const SHOWN: &[&str] = &["level", "request_id", "route_key", "status", "latency_ms", "message", "target"];
    for (k, v) in map.iter().filter(|(k, _)| !SHOWN.contains(&k.as_str())) {
        parts.push(format!("{k}={}", field_text(v)));
    }
    parts.join(" ")
}

/// The lines of one request until its REPORT arrives.
#[derive(Debug, Default)]
struct Pending {
    first: i64,
    lines: Vec<(i64, Line)>,
}

/// Folds events into readable lines: a request's lines wait for its REPORT, then are printed with
/// the report on its `request` line. Feed events in time order with [`Folder::push`].
#[derive(Debug, Default)]
pub struct Folder {
    /// Per stream: the request whose START was seen and whose REPORT was not.
    current: HashMap<String, String>,
    /// Per request id.
    pending: HashMap<String, Pending>,
    /// Request ids in START order (output order).
    order: Vec<String>,
}

impl Folder {
    /// A new folder.
    pub fn new() -> Folder {
        Folder::default()
    }

    /// Takes one event; returns the lines ready to print.
    pub fn push(&mut self, e: &LogEvent) -> Vec<String> {
        let line = parse_line(&e.message);
        match line {
            Line::Start(id) => {
                self.current.insert(e.stream.clone(), id.clone());
                self.open(&id, e.timestamp);
                Vec::new()
            }
            Line::End(_) => Vec::new(),
            Line::Report(id, report) => {
                if self.current.get(&e.stream) == Some(&id) {
                    self.current.remove(&e.stream);
                }
                let pending = self.pending.remove(&id).unwrap_or_default();
                self.order.retain(|o| *o != id);
                render(&id, pending, Some((e.timestamp, report)))
            }
            other => {
                let id = match &other {
                    Line::Json(map) => map.get("request_id").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                }
                .or_else(|| self.current.get(&e.stream).cloned());
                match id {
                    Some(id) => {
                        self.open(&id, e.timestamp);
                        if let Some(p) = self.pending.get_mut(&id) {
                            p.lines.push((e.timestamp, other));
                        }
                        Vec::new()
                    }
                    None => vec![render_line(e.timestamp, &other, None)],
                }
            }
        }
    }

    fn open(&mut self, id: &str, timestamp: i64) {
        if !self.pending.contains_key(id) {
            self.pending.insert(id.to_owned(), Pending { first: timestamp, lines: Vec::new() });
            self.order.push(id.to_owned());
        }
    }

    /// The lines of requests started before `before` (ms) that never got a REPORT (a filter hid it,
    /// or it is still running): printed as they are.
    pub fn flush_older_than(&mut self, before: i64) -> Vec<String> {
        let stale: Vec<String> =
            self.order.iter().filter(|id| self.pending.get(*id).is_some_and(|p| p.first < before)).cloned().collect();
        let mut out = Vec::new();
        for id in stale {
            self.order.retain(|o| *o != id);
            if let Some(p) = self.pending.remove(&id) {
                out.extend(render(&id, p, None));
            }
        }
        out
    }

    /// Everything still held.
    pub fn finish(&mut self) -> Vec<String> {
        self.flush_older_than(i64::MAX)
    }
}

fn render_line(timestamp: i64, line: &Line, request: Option<&str>) -> String {
    match line {
        Line::Json(map) => format_json(timestamp, map, request),
        Line::Text(t) => match request {
            Some(id) => format!("{} {:<5} {id} {t}", format_time(timestamp), "-"),
            None => format!("{} {:<5} {t}", format_time(timestamp), "-"),
        },
        Line::Start(id) | Line::End(id) | Line::Report(id, _) => format!("{} {id}", format_time(timestamp)),
    }
}

fn render(id: &str, pending: Pending, report: Option<(i64, Report)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The report goes on the request's summary line: the JSON line with a status (the last one).
    let summary = pending.lines.iter().rposition(|(_, l)| matches!(l, Line::Json(m) if m.contains_key("status")));
    for (i, (ts, line)) in pending.lines.iter().enumerate() {
        let mut text = render_line(*ts, line, Some(id));
        if let (Some(s), Some((_, r))) = (summary, &report)
            && s == i
        {
            text.push_str(&format!(" | {}", r.render()));
        }
        out.push(text);
    }
    if let (None, Some((ts, r))) = (summary, &report) {
        out.push(format!("{} {:<5} {id} REPORT | {}", format_time(*ts), "-", r.render()));
    }
    out
}

/// `10m`, `2h`, `30s`, `1d` (or a bare number of minutes) → a duration.
pub fn parse_since(text: &str) -> Result<Duration, IacError> {
    let t = text.trim();
    let invalid = || IacError::Invalid {
        field: "since".into(),
        value: text.to_owned(),
        message: "expected a number and a unit: 30s, 10m, 2h, 1d".into(),
    };
    let (n, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "m"),
    };
    let n: u64 = n.parse().map_err(|_| invalid())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(secs))
}

/// Every event of `group` since `start_ms` (inclusive) matching `filter`, in time order.
/// `Ok(None)`: the log group does not exist.
pub async fn fetch(
    aws: &Aws,
    group: &str,
    start_ms: i64,
    filter: Option<&str>,
) -> Result<Option<Vec<LogEvent>>, IacError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = aws.logs.filter_log_events().log_group_name(group).start_time(start_ms);
        if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
            req = req.filter_pattern(f);
        }
        if let Some(t) = &token {
            req = req.next_token(t);
        }
        let out = match req.send().await {
            Ok(out) => out,
            Err(e) => {
                let meta = ErrorMeta::of(&e);
                if meta.is("ResourceNotFoundException") {
                    return Ok(None);
                }
                return Err(crate::aws::classify(&format!("log group {group}"), "FilterLogEvents", meta));
            }
        };
        for e in out.events() {
            events.push(LogEvent {
                timestamp: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().to_owned(),
                message: e.message().unwrap_or_default().to_owned(),
                id: e.event_id().unwrap_or_default().to_owned(),
            });
        }
        // An unchanged token means the end (CloudWatch may repeat the last one).
        match out.next_token() {
            Some(t) if token.as_deref() != Some(t) && !out.events().is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    events.sort_by_key(|e| e.timestamp);
    Ok(Some(events))
}

/// Polls for new events: remembers what it has shown so overlapping windows show nothing twice.
#[derive(Debug, Default)]
pub struct Follower {
    /// Where the next poll starts (ms).
    pub since: i64,
    seen: HashSet<String>,
}

impl Follower {
    /// Starts at `since` (ms).
    pub fn new(since: i64) -> Follower {
        Follower { since, seen: HashSet::new() }
    }

    /// The events not seen before; moves the window on.
    pub fn fresh(&mut self, events: Vec<LogEvent>) -> Vec<LogEvent> {
        let fresh: Vec<LogEvent> = events.into_iter().filter(|e| self.seen.insert(e.id.clone())).collect();
        if let Some(last) = fresh.iter().map(|e| e.timestamp).max() {
            // Events can arrive late with an earlier timestamp: keep a minute of overlap.
            self.since = self.since.max(last - 60_000);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, stream: &str, message: &str) -> LogEvent {
        LogEvent { timestamp: ts, stream: stream.into(), message: message.into(), id: format!("{ts}-{stream}") }
    }

    const T: i64 = 1_796_595_611_123; // 2026-12-06T22:20:11.123Z

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(format_time(T), "2026-12-06T22:20:11.123Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn a_report_line_is_parsed_with_and_without_a_cold_start() {
        let cold = "REPORT RequestId: 8f1c2d3e-0000-4000-8000-000000000001\tDuration: 4.21 ms\tBilled Duration: 52 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 47.35 ms\t\n";
        let Line::Report(id, r) = parse_line(cold) else { panic!() };
        assert_eq!(id, "8f1c2d3e-0000-4000-8000-000000000001");
        assert_eq!(
            r,
            Report {
                duration_ms: Some(4.21),
                billed_ms: Some(52.0),
                memory_mb: Some(128),
                max_memory_mb: Some(21),
                init_ms: Some(47.35),
                status: None
            }
        );
        assert_eq!(r.render(), "lambda 4.2 ms, billed 52 ms, memory 21/128 MB, cold start: init 47.4 ms");
        let warm = "REPORT RequestId: x\tDuration: 1.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 22 MB\tStatus: timeout";
        let Line::Report(_, r) = parse_line(warm) else { panic!() };
        assert_eq!(r.render(), "status timeout, lambda 1.0 ms, billed 2 ms, memory 22/128 MB");
    }

    #[test]
    fn start_end_and_report_fold_into_the_request_line() {
        let mut f = Folder::new();
        let rid = "8f1c2d3e-0000-4000-8000-000000000001";
        assert!(f.push(&ev(T, "s1", &format!("START RequestId: {rid} Version: $LATEST"))).is_empty());
        let json = format!(
            r#"{{"level":"INFO","request_id":"{rid}","route_key":"POST /todos","status":204,"latency_ms":3.14,"message":"request","target":"todos::entrypoints::lambda"}}"#
        );
        assert!(f.push(&ev(T + 3, "s1", &json)).is_empty());
        assert!(f.push(&ev(T + 4, "s1", &format!("END RequestId: {rid}"))).is_empty());
        let out = f.push(&ev(
            T + 4,
            "s1",
            &format!("REPORT RequestId: {rid}\tDuration: 4.21 ms\tBilled Duration: 52 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 47.35 ms\t"),
        ));
        assert_eq!(
            out,
            [format!(
                "2026-12-06T22:20:11.126Z INFO  {rid} POST /todos 204 3.1 ms request | lambda 4.2 ms, billed 52 ms, memory 21/128 MB, cold start: init 47.4 ms"
            )]
        );
        assert!(f.finish().is_empty());
    }

    #[test]
    fn an_error_line_without_a_request_id_belongs_to_its_streams_current_request() {
        let mut f = Folder::new();
        f.push(&ev(T, "s1", "START RequestId: r1 Version: $LATEST"));
        f.push(&ev(T, "s2", "START RequestId: r2 Version: $LATEST"));
        f.push(&ev(
            T + 1,
            "s1",
            r#"{"level":"ERROR","status":503,"error":"store unavailable: timeout","message":"request failed"}"#,
        ));
        let out = f.push(&ev(T + 2, "s1", "REPORT RequestId: r1\tDuration: 2.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB"));
        assert_eq!(
            out,
            [
                "2026-12-06T22:20:11.124Z ERROR r1 503 request failed error=store unavailable: timeout | lambda 2.0 ms, billed 3 ms, memory 20/128 MB"
            ]
        );
        // r2 never reported: shown as it is at the end.
        f.push(&ev(T + 5, "s2", "panicked at src/x.rs:1:1"));
        assert_eq!(f.finish(), ["2026-12-06T22:20:11.128Z -     r2 panicked at src/x.rs:1:1"]);
    }

    #[test]
    fn lines_outside_any_request_are_printed_at_once() {
        let mut f = Folder::new();
        assert_eq!(
            f.push(&ev(T, "s1", "INIT_START Runtime Version: provided:al2023.v30")),
            ["2026-12-06T22:20:11.123Z -     INIT_START Runtime Version: provided:al2023.v30"]
        );
        let r = f.push(&ev(T, "s1", "REPORT RequestId: r9\tDuration: 1.00 ms\tBilled Duration: 1 ms"));
        assert_eq!(r, ["2026-12-06T22:20:11.123Z -     r9 REPORT | lambda 1.0 ms, billed 1 ms"]);
    }

    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(parse_since("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_since("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_since("45").unwrap(), Duration::from_secs(2700));
        assert!(parse_since("ten").unwrap_err().to_string().contains("30s, 10m, 2h, 1d"));
        assert!(parse_since("5y").is_err());
    }

    #[test]
    fn a_follower_shows_each_event_once() {
        let mut f = Follower::new(T - 1000);
        assert_eq!(f.fresh(vec![ev(T, "s", "a"), ev(T + 1, "s", "b")]).len(), 2);
        assert_eq!(f.fresh(vec![ev(T + 1, "s", "b"), ev(T + 2, "s", "c")]).len(), 1);
    }
}
