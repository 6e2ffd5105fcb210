//! In-process tests over real sockets: a started [`Hub`] on 127.0.0.1:0, rustls clients with
//! and without the enrollment ALPN or a client certificate, the revocation refresh, and the
//! admin port.

use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::agent::{NodeReport, ReportBatch, ResourceSample};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigArgs, FileConfig};
use crate::server::{self, Hub, InitOptions, RunningHub};

async fn start() -> (tempfile::TempDir, RunningHub) {
    let dir = tempfile::tempdir().unwrap();
    server::init(
        dir.path(),
        &InitOptions {
            domain: "fluidos.eu".into(),
            ..InitOptions::default()
        },
    )
    .unwrap();
    let args = ConfigArgs {
        state_dir: Some(dir.path().to_owned()),
        agent_listen: Some("127.0.0.1:0".parse().unwrap()),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        heartbeat: Some(Duration::from_secs(1)),
        ..ConfigArgs::default()
    };
    let config = Config::resolve(&args, FileConfig::default()).unwrap();
    let hub = Hub::start(config, CancellationToken::new()).await.unwrap();
    (dir, hub)
}

fn client(hub: &RunningHub, alpn: Option<&[u8]>, cert: Option<(String, String)>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(hub.pki().ca_der().to_vec()))
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    config.alpn_protocols = alpn.into_iter().map(<[u8]>::to_vec).collect();
    TlsConnector::from(Arc::new(config))
}

/// One request over a fresh TLS connection; `Err` when TLS or HTTP fails.
async fn send(
    hub: &RunningHub,
    tls: &TlsConnector,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, String), String> {
    let tcp = TcpStream::connect(hub.agent_addr)
        .await
        .map_err(|e| e.to_string())?;
    let stream = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn report(node: &str, seq: u64) -> Request<Full<Bytes>> {
    let batch = ReportBatch {
        node_name: node.into(),
        resume_from: 1,
        dropped_total: 0,
        reports: vec![NodeReport {
            seq,
            sampled_at: OffsetDateTime::now_utc(),
            sample: ResourceSample::default(),
        }],
    };
    Request::post("/v1/reports")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&batch).unwrap())))
        .unwrap()
}

async fn admin_get(hub: &RunningHub, path: &str) -> (StatusCode, String) {
    let tcp = TcpStream::connect(hub.admin_addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn enrollment_alpn_needs_no_certificate_but_reports_do() {
    let (_dir, hub) = start().await;
    let enroll = client(&hub, Some(fluidos_protocol::ALPN_ENROLL), None);
    let ca = Request::get("/v1/ca")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, body) = send(&hub, &enroll, ca).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("BEGIN CERTIFICATE"));
    // The enrollment connection does not serve reports.
    assert_eq!(
        send(&hub, &enroll, report("pi-1", 1)).await.unwrap().0,
        StatusCode::NOT_FOUND
    );

    let anonymous = client(&hub, Some(b"http/1.1"), None);
    assert!(
        send(&hub, &anonymous, report("pi-1", 1)).await.is_err(),
        "no client certificate must fail TLS"
    );
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn agents_report_until_revoked_and_admin_reflects_it() {
    let (_dir, hub) = start().await;
    let (cert, key) = hub
        .pki()
        .issue_agent_cert("pi-1", Duration::from_secs(3600))
        .unwrap();
    hub.registry().record_cert("pi-1", &cert).unwrap();
    let agent = client(&hub, None, Some((cert.pem, key)));
    let (status, body) = send(&hub, &agent, report("pi-1", 1)).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"ackedSeq\":1"), "{body}");

    let (status, metrics) = admin_get(&hub, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("fluidos_hub_reports_received_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("fluidos_hub_agents_live 1"), "{metrics}");
    assert!(
        metrics.contains("fluidos_hub_store_writes_total 1"),
        "{metrics}"
    );
    assert_eq!(admin_get(&hub, "/readyz").await.0, StatusCode::OK);
    assert_eq!(
        admin_get(&hub, "/healthz").await,
        (StatusCode::OK, "ok\n".to_owned())
    );

    hub.registry().revoke("pi-1").unwrap();
    let mut status = StatusCode::OK;
    for _ in 0..30 {
        status = send(&hub, &agent, report("pi-1", 2)).await.unwrap().0;
        if status == StatusCode::FORBIDDEN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "revocation must apply within a second or so"
    );

    let counters = hub.ingestor().counters("pi-1").unwrap();
    let registry = Arc::clone(hub.registry());
    hub.stop().await.unwrap();
    let saved = registry.load_ingest().unwrap();
    assert_eq!(
        saved["pi-1"].0, counters,
        "the final flush saves the counters"
    );
}
