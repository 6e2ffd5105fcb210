//! Router and handler tests on in-memory requests (no sockets), against a real state
//! directory (CA, registry, store) in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::agent::{
    CertificateResponse, NodeReport, ReportAck, ReportBatch, ResourceSample,
};
use fluidos_protocol::flavor::Flavor;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;
use rcgen::{CertificateParams, KeyPair};
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::api::body::response_json;
use crate::config::{Config, ConfigArgs, FileConfig};
use crate::lrm::AGENT_NODE_LABEL;
use crate::server::{self, InitOptions};
use crate::store::list_typed;

struct Fixture {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    store: Arc<dyn crate::store::Store>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let options = InitOptions {
        domain: "fluidos.eu".into(),
        ..InitOptions::default()
    };
    server::init(dir.path(), &options).unwrap();
    let args = ConfigArgs {
        state_dir: Some(dir.path().to_owned()),
        ..ConfigArgs::default()
    };
    let config = Config::resolve(&args, FileConfig::default()).unwrap();
    let opened = server::open(&config).await.unwrap();
    Fixture {
        _dir: dir,
        state: opened.app,
        store: opened.store,
    }
}

fn agent(node: &str) -> Mode {
    Mode::Agent(Ok(AgentPeer {
        node: node.into(),
        serial_hex: "0badc0de".into(),
    }))
}

fn request(
    mode: Mode,
    method: Method,
    path: &str,
    json: bool,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path);
    if json {
        builder = builder.header("content-type", "application/json");
    }
    let mut req = builder.body(Full::new(body.into())).unwrap();
    req.extensions_mut().insert(ConnInfo {
        remote: ([127, 0, 0, 1], 1).into(),
        mode,
    });
    req
}

async fn call(f: &Fixture, req: Request<Full<Bytes>>) -> (StatusCode, serde_json::Value) {
    let response = handle(&f.state, req).await;
    (response.status(), response_json(response).await)
}

fn csr() -> String {
    let key = KeyPair::generate().unwrap();
    CertificateParams::default()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap()
}

fn batch(node: &str, seqs: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let reports = seqs
        .into_iter()
        .map(|seq| NodeReport {
            seq,
            sampled_at: OffsetDateTime::now_utc(),
            sample: ResourceSample::default(),
        })
        .collect();
    let batch = ReportBatch {
        node_name: node.into(),
        resume_from: 1,
        dropped_total: 0,
        reports,
    };
    serde_json::to_vec(&batch).unwrap()
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let f = fixture().await;
    for (mode, method, path, status) in [
        (Mode::Enroll, Method::GET, "/v1/nope", StatusCode::NOT_FOUND),
        (
            Mode::Enroll,
            Method::POST,
            "/v1/reports",
            StatusCode::NOT_FOUND,
        ),
        (agent("pi-1"), Method::GET, "/v1/ca", StatusCode::NOT_FOUND),
        (
            Mode::Enroll,
            Method::POST,
            "/v1/ca",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            agent("pi-1"),
            Method::GET,
            "/v1/reports",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let (got, body) = call(&f, request(mode, method, path, true, "")).await;
        assert_eq!(got, status, "{path}");
        assert_eq!(
            body["code"],
            if status == StatusCode::NOT_FOUND {
                "not_found"
            } else {
                "method_not_allowed"
            }
        );
    }
}

#[tokio::test]
async fn posts_need_json_bounded_bodies_that_parse() {
    let f = fixture().await;
    let (status, body) = call(
        &f,
        request(agent("pi-1"), Method::POST, "/v1/reports", false, "{}"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let big = vec![b' '; fluidos_protocol::MAX_AGENT_BODY_BYTES + 1];
    let (status, body) = call(
        &f,
        request(agent("pi-1"), Method::POST, "/v1/reports", true, big),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let (status, body) = call(
        &f,
        request(Mode::Enroll, Method::POST, "/v1/enroll", true, "{not json"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json"))
    );
}

#[tokio::test]
async fn refused_or_revoked_certificates_get_403_everywhere() {
    let f = fixture().await;
    for path in ["/v1/reports", "/v1/renew", "/v1/other"] {
        let req = request(
            Mode::Agent(Err("agent certificate of another domain")),
            Method::POST,
            path,
            true,
            "{}",
        );
        assert_eq!(call(&f, req).await.0, StatusCode::FORBIDDEN);
    }
    f.state.revocations.replace(["0badc0de".to_owned()].into());
    let (status, body) = call(
        &f,
        request(
            agent("pi-1"),
            Method::POST,
            "/v1/reports",
            true,
            batch("pi-1", [1]),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert!(f.state.ingestor.counters("pi-1").is_none());
}

#[tokio::test]
async fn the_ca_is_served_on_the_enrollment_alpn() {
    let f = fixture().await;
    let (status, body) = call(&f, request(Mode::Enroll, Method::GET, "/v1/ca", false, "")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["caPem"], f.state.pki.ca_pem());
}

#[tokio::test]
async fn enrollment_redeems_the_token_once() {
    let f = fixture().await;
    let token = f
        .state
        .registry
        .create_token(Duration::from_secs(60), 1)
        .unwrap()
        .credentials();
    let enroll = |node: &str, csr: String| {
        let body = json!({"token": token, "nodeName": node, "csrPem": csr}).to_string();
        request(Mode::Enroll, Method::POST, "/v1/enroll", true, body)
    };
    let (status, body) = call(&f, enroll("Bad_Name", csr())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_node_name"))
    );
    let (status, body) = call(&f, enroll("pi-1", "not a csr".into())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_csr"))
    );

    let (status, body) = call(&f, enroll("pi-1", csr())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cert: CertificateResponse = serde_json::from_value(body).unwrap();
    assert_eq!(
        (cert.node_name.as_str(), cert.heartbeat_seconds),
        ("pi-1", 10)
    );
    assert_eq!(cert.hub.node_id, f.state.identity.node_id);
    assert_eq!(f.state.registry.agents().unwrap()[0].node, "pi-1");

    let (status, body) = call(&f, enroll("pi-2", csr())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_used"))
    );
    let bad = json!({"token": "aaaaaa.bbbbbbbbbbbbbbbb", "nodeName": "pi-3", "csrPem": csr()})
        .to_string();
    let (status, body) = call(
        &f,
        request(Mode::Enroll, Method::POST, "/v1/enroll", true, bad),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_invalid"))
    );
}

#[tokio::test]
async fn renewal_issues_a_certificate_for_the_callers_node() {
    let f = fixture().await;
    let body = json!({"csrPem": csr()}).to_string();
    let (status, body) = call(
        &f,
        request(agent("pi-1"), Method::POST, "/v1/renew", true, body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["nodeName"], "pi-1");
}

#[tokio::test]
async fn reports_are_deduplicated_and_create_one_flavor() {
    let f = fixture().await;
    let req = || {
        request(
            agent("pi-1"),
            Method::POST,
            "/v1/reports",
            true,
            batch("pi-1", 1..=3),
        )
    };
    let (status, body) = call(&f, req()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ack: ReportAck = serde_json::from_value(body).unwrap();
    assert_eq!(
        (
            ack.acked_seq,
            ack.accepted,
            ack.duplicates,
            ack.heartbeat_seconds
        ),
        (3, 3, 0, 10)
    );
    let ack: ReportAck = serde_json::from_value(call(&f, req()).await.1).unwrap();
    assert_eq!((ack.acked_seq, ack.accepted, ack.duplicates), (3, 0, 3));

    let flavors = list_typed::<Flavor>(f.store.as_ref(), None).await.unwrap();
    assert_eq!(flavors.len(), 1);
    assert_eq!(flavors[0].metadata.labels[AGENT_NODE_LABEL], "pi-1");
    assert!(flavors[0].spec.availability);
}

#[tokio::test]
async fn reports_for_another_node_or_too_many_are_refused_and_not_stored() {
    let f = fixture().await;
    let (status, _) = call(
        &f,
        request(
            agent("pi-1"),
            Method::POST,
            "/v1/reports",
            true,
            batch("pi-2", [1]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let too_many = batch("pi-1", 1..=1025);
    let (status, body) = call(
        &f,
        request(agent("pi-1"), Method::POST, "/v1/reports", true, too_many),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json"))
    );
    assert!(
        f.state.ingestor.counters("pi-1").is_none() && f.state.ingestor.counters("pi-2").is_none()
    );
    assert!(
        list_typed::<Flavor>(f.store.as_ref(), None)
            .await
            .unwrap()
            .is_empty()
    );
    let metrics = f.state.metrics.encode().unwrap();
    assert!(
        metrics.contains("fluidos_hub_reports_rejected_total{reason=\"forbidden\"} 1"),
        "{metrics}"
    );
}
