//! `iac logs` against moto's CloudWatch Logs: events the test puts (the function's JSON lines and
//! Lambda's START / END / REPORT) come out folded, one line per request; a stack that is not
//! deployed and a log group without events are said plainly; `--follow` shows new events and stops
//! cleanly on Ctrl-C (SIGINT).
//!
//! Where moto differs from AWS: it does not generate Lambda's START/END/REPORT lines (the test puts
//! them, copied from a real function's log) and keeps events in the order they were put.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use iac::logs::format_time;

use super::support::{LOG_GROUP, Workspace, aws, exclusive, runtime, text};

const RID: &str = "6f2c9d7e-1b3a-4c5d-9e8f-0a1b2c3d4e5f";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn put(aws: &iac::aws::Aws, stream: &str, events: &[(i64, String)]) {
    let _ = aws.logs.create_log_stream().log_group_name(LOG_GROUP).log_stream_name(stream).send().await;
    let mut req = aws.logs.put_log_events().log_group_name(LOG_GROUP).log_stream_name(stream);
    for (ts, m) in events {
        req = req.log_events(InputLogEvent::builder().timestamp(*ts).message(m).build().unwrap());
    }
    req.send().await.unwrap();
}

fn request_events(t: i64, rid: &str, status: u16) -> Vec<(i64, String)> {
    vec![
        (t, format!("START RequestId: {rid} Version: $LATEST\n")),
        (
            t + 2,
            format!(
                r#"{{"level":"INFO","request_id":"{rid}","route_key":"GET /todos","status":{status},"latency_ms":1.84,"message":"request","target":"todos::entrypoints::lambda"}}"#
            ),
        ),
        (t + 3, format!("END RequestId: {rid}\n")),
        (
            t + 3,
            format!(
                "REPORT RequestId: {rid}\tDuration: 2.71 ms\tBilled Duration: 48 ms\tMemory Size: 128 MB\tMax Memory Used: 19 MB\tInit Duration: 44.90 ms\t\n"
            ),
        ),
    ]
}

#[test]
fn logs_fold_lambda_lines_into_one_readable_line_per_request() {
    let _g = exclusive();
    let rt = runtime();
    let aws = rt.block_on(aws());
    let t = now_ms() - 60_000;
    rt.block_on(async {
        aws.logs.create_log_group().log_group_name(LOG_GROUP).send().await.unwrap();
        put(&aws, "2026/12/06/[$LATEST]abc", &request_events(t, RID, 200)).await;
        // Older than the window: not shown.
        put(&aws, "2026/12/06/[$LATEST]old", &[(t - 3_600_000, "INIT_START too old".to_owned())]).await;
    });
    let ws = Workspace::new();
    let out = ws.command("logs").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!(
            "{} INFO  {RID} GET /todos 200 1.8 ms request | lambda 2.7 ms, billed 48 ms, memory 19/128 MB, cold start: init 44.9 ms\n",
            format_time(t + 2)
        ),
        "{}",
        text(&out)
    );

    // A filter pattern is passed on: a term no event has shows nothing, and says so.
    let out = ws.command("logs").args(["--filter", "no-such-term-anywhere"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No log events matching `no-such-term-anywhere`"));
}

#[test]
fn logs_of_a_stack_not_deployed_and_of_a_quiet_function_are_said_plainly() {
    let _g = exclusive();
    let ws = Workspace::new();
    let out = ws.command("logs").output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: stack `dev` is not deployed in us-east-1: log group /aws/lambda/todos-dev-api does not exist (run `make up`)"
    );

    let rt = runtime();
    rt.block_on(async { aws().await.logs.create_log_group().log_group_name(LOG_GROUP).send().await.unwrap() });
    let out = ws.command("logs").args(["--since", "5m"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No log events in /aws/lambda/todos-dev-api in the last 5m"),
        "{}",
        text(&out)
    );

    let bad = ws.command("logs").args(["--since", "soon"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid setting `since` = soon"), "{}", text(&bad));
}

#[test]
fn logs_follow_shows_new_events_and_stops_cleanly_on_ctrl_c() {
    let _g = exclusive();
    let rt = runtime();
    let aws = rt.block_on(aws());
    rt.block_on(async { aws.logs.create_log_group().log_group_name(LOG_GROUP).send().await.unwrap() });
    let ws = Workspace::new();
    let mut child = ws.command("logs").arg("--follow").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    let t = now_ms();
    rt.block_on(put(&aws, "2026/12/06/[$LATEST]new", &request_events(t, RID, 503)));
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("the new request within 20 s");
    assert!(line.contains(&format!("{RID} GET /todos 503 1.8 ms request | lambda 2.7 ms")), "{line}");

    // Ctrl-C: SIGINT to the child we started, by its PID.
    let t0 = Instant::now();
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit after Ctrl-C: {}", text(&out));
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"), "{}", text(&out));
}

use std::process::Command;
