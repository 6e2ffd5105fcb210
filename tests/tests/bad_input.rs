//! Malformed, oversized, mistyped and misrouted requests get a clear 4xx JSON error, the hub
//! keeps serving, and nothing is stored.

use std::net::SocketAddr;
use std::time::Duration;

use fluidos_protocol::agent::{NodeReport, ReportBatch, ResourceSample};
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::Scratch;
use fluidos_tests::raw::TlsClient;
use fluidos_tests::{bins, samples};

const JSON: Option<&str> = Some("application/json");

/// One bad request and the answer it must get.
struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn cases() -> Vec<Case> {
    let case = |what, path, content_type, body: &[u8], status, code| Case {
        what,
        method: "POST",
        path,
        content_type,
        body: body.to_vec(),
        status,
        code,
    };
    vec![
        case(
            "malformed JSON",
            "/v1/reports",
            JSON,
            br#"{"nodeName": "board", "reports": ["#,
            400,
            "bad_json",
        ),
        case(
            "wrong shape",
            "/v1/reports",
            JSON,
            br#"{"nodeName": 7}"#,
            400,
            "bad_json",
        ),
        case(
            "oversized body",
            "/v1/reports",
            JSON,
            &vec![b' '; 2 * 1024 * 1024],
            413,
            "too_large",
        ),
        case(
            "wrong content type",
            "/v1/reports",
            Some("text/plain"),
            b"{}",
            415,
            "unsupported_media_type",
        ),
        case("unknown path", "/v1/nope", JSON, b"{}", 404, "not_found"),
        case(
            "unknown version",
            "/v2/reports",
            JSON,
            b"{}",
            404,
            "not_found",
        ),
        Case {
            method: "GET",
            ..case(
                "wrong method",
                "/v1/reports",
                None,
                b"",
                405,
                "method_not_allowed",
            )
        },
    ]
}

async fn assert_refused(client: &TlsClient, addr: SocketAddr, case: Case) {
    let Case {
        what,
        method,
        path,
        content_type,
        body,
        status,
        code,
    } = case;
    let (got, text) = client
        .request(addr, method, path, content_type, body)
        .await
        .unwrap_or_else(|e| panic!("{what}: no HTTP answer: {e:?}"));
    assert_eq!(got, status, "{what}: {text}");
    let err: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    assert_eq!(err["code"], code, "{what}");
    assert!(
        err["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: a message"
    );
}

fn good_batch(sample: ResourceSample) -> Vec<u8> {
    let batch = ReportBatch {
        node_name: "board".into(),
        resume_from: 1,
        dropped_total: 0,
        reports: vec![NodeReport {
            seq: 1,
            sampled_at: time::OffsetDateTime::now_utc(),
            sample,
        }],
    };
    serde_json::to_vec(&batch).expect("report batches serialise")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_4xx_and_change_nothing() {
    let scratch = Scratch::new("bad-input");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), Duration::from_secs(1));
    let addr = hub.start().await.agent_api;
    let sample = samples::board("board", "arm64", 4, 4);
    let agent = TestAgent::enrolled(&bins, scratch.path(), &hub, "board", &sample);
    let client = TlsClient::from_agent_dir(&agent.state, true);

    for case in cases() {
        assert_refused(&client, addr, case).await;
    }
    assert!(
        hub.flavors().is_empty(),
        "nothing stored by refused requests"
    );
    assert_eq!(hub.agent("board").expect("enrolled")["acceptedTotal"], 0);

    // The hub still serves a good report.
    let (status, text) = client
        .request(addr, "POST", "/v1/reports", JSON, good_batch(sample))
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    let ack: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ack["ackedSeq"], 1);
    fluidos_tests::eventually(
        Duration::from_secs(10),
        "the flavor of the good report",
        || {
            let n = hub.flavors().len();
            async move { (n == 1).then_some(()) }
        },
    )
    .await;
    let (status, _) = hub.admin_get("/healthz").await;
    assert_eq!(status, 200);
    hub.stop();
}
