//! AWS failures as one line a person can act on: a closed port, a name that does not resolve, an
//! endpoint that never answers, and AWS's answers for expired, rejected and refused credentials —
//! through the library and, for the offline case of the issue, through the `iac` binary.
//!
//! The error answers come from a canned loopback server speaking AWS's wire formats (STS's query
//! XML, DynamoDB's JSON) rather than from moto: moto only checks credentials when started with
//! `INITIAL_NO_AUTH_ACTION_COUNT` and never answers `ExpiredToken`. The bodies and status codes are
//! AWS's documented ones; the server does not check signatures (AWS does: that is what produces
//! `SignatureDoesNotMatch`).

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use iac::IacError;
use iac::aws::Aws;

use super::support::{Workspace, read_request, text};

async fn connect(
    endpoint: &str,
    configure: impl FnOnce(aws_config::ConfigLoader) -> aws_config::ConfigLoader,
) -> IacError {
    let loader = iac::aws::config_loader()
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"));
    let sdk = configure(loader).load().await;
    Aws::from_sdk_config(&sdk).await.expect_err("connecting must fail")
}

fn closed_port() -> u16 {
    // Bound then dropped: nothing listens there any more.
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_closed_port_is_unreachable_naming_the_host_and_saying_refused() {
    let port = closed_port();
    let e = connect(&format!("http://127.0.0.1:{port}"), |l| l).await;
    assert_eq!(
        e.to_string(),
        format!("cannot reach AWS at 127.0.0.1:{port}: connection refused (nothing listens there)")
    );
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_a_dns_error_naming_the_host() {
    // `.invalid` never resolves (RFC 6761): the resolver answers at once, no packet leaves.
    let e = connect("http://sts.eu-west-1.amazonaws.invalid", |l| l).await;
    assert!(matches!(&e, IacError::Unreachable { host, .. } if host == "sts.eu-west-1.amazonaws.invalid"), "{e:?}");
    assert!(e.to_string().contains("the name does not resolve (DNS): are you offline"), "{e}");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps the connection open without a word.
    std::thread::spawn(move || {
        let connection = listener.accept();
        std::thread::sleep(Duration::from_secs(3));
        drop(connection);
    });
    let e = connect(&format!("http://127.0.0.1:{port}"), |l| {
        l.timeout_config(
            aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(500)).build(),
        )
        .retry_config(aws_config::retry::RetryConfig::disabled())
    })
    .await;
    assert!(matches!(&e, IacError::TimedOut { host, .. } if *host == format!("127.0.0.1:{port}")), "{e:?}");
    assert!(e.to_string().starts_with(&format!("no answer from AWS at 127.0.0.1:{port} in time")), "{e}");
}

/// Serves `answers` in turn (status, content type, body), one per connection; returns the endpoint.
fn canned(answers: Vec<(u16, &'static str, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in listener.incoming().map_while(Result::ok) {
            let _ = read_request(&stream);
            let Some((status, kind, body)) = answers.next() else { break };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    endpoint
}

fn sts_error(code: &str, message: &str) -> (u16, &'static str, String) {
    let status = if code == "ExpiredToken" { 400 } else { 403 };
    (
        status,
        "text/xml",
        format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>4c7d6f1e-0000-4000-8000-000000000000</RequestId></ErrorResponse>"#
        ),
    )
}

#[tokio::test]
async fn each_credentials_answer_from_aws_is_one_line_saying_what_to_do() {
    let cases = [
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "run `aws sso login` (or refresh them)",
        ),
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "AWS rejected the credentials (InvalidClientTokenId",
        ),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "AWS rejected the credentials (SignatureDoesNotMatch",
        ),
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: sts:GetCallerIdentity on resource: arn:aws:iam::123456789012:user/dev",
            "access denied: cannot sts:GetCallerIdentity arn:aws:iam::123456789012:user/dev: grant sts:GetCallerIdentity",
        ),
    ];
    for (code, message, says) in cases {
        // The SDK retries nothing of these: one answer is enough.
        let endpoint = canned(vec![sts_error(code, message)]);
        let e = connect(&endpoint, |l| l.retry_config(aws_config::retry::RetryConfig::disabled())).await;
        let line = e.to_string();
        assert!(line.contains(says), "{code}: {line}");
        assert!(!line.contains('\n') && !line.contains("ServiceError") && !line.contains("{ "), "{code}: {line}");
    }
}

#[tokio::test]
async fn access_denied_on_a_resource_names_the_action_and_the_resource() {
    let identity = (
        200,
        "text/xml",
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/dev</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#.to_owned(),
    );
    let denied = (
        400,
        "application/x-amz-json-1.0",
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/todos-dev because no identity-based policy allows the dynamodb:DescribeTable action"}"#.to_owned(),
    );
    let endpoint = canned(vec![identity, denied]);
    let sdk = iac::aws::config_loader()
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let aws = Aws::from_sdk_config(&sdk).await.unwrap();
    assert_eq!(aws.account, "123456789012");
    let err = aws.dynamodb.describe_table().table_name("todos-dev").send().await.unwrap_err();
    let e = iac::aws::aws_error("table todos-dev", "DescribeTable", err);
    assert_eq!(
        e.to_string(),
        "access denied: cannot dynamodb:DescribeTable arn:aws:dynamodb:eu-west-1:123456789012:table/todos-dev: grant dynamodb:DescribeTable on arn:aws:dynamodb:eu-west-1:123456789012:table/todos-dev to these credentials, or use others"
    );
}

#[test]
fn offline_preview_says_the_network_is_the_problem_in_one_line() {
    let ws = Workspace::new();
    let port = closed_port();
    let out = ws.command("preview").env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")).output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!("error: cannot reach AWS at 127.0.0.1:{port}: connection refused (nothing listens there)"),
        "{}",
        text(&out)
    );

    let bad = ws.command("preview").args(["--region", "europe"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown AWS region `europe`: not an AWS region name"),
        "{}",
        text(&bad)
    );
}

#[test]
fn missing_credentials_say_where_they_were_looked_for_and_what_to_do() {
    let ws = Workspace::new();
    // The workspace's empty config files, no keys in the environment, no instance metadata.
    let out = ws
        .command("preview")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: no usable AWS credentials: none found in the environment, ~/.aws/config and ~/.aws/credentials, SSO or instance metadata. Configure them (aws configure / aws sso login, or AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)",
        "{}",
        text(&out)
    );
}
