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
        rear_listen: Some("127.0.0.1:0".parse().unwrap()),
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

/// A raw HTTP/1 client over TLS, to check connection-level behaviour byte by byte.
struct Raw {
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(hub: &RunningHub) -> Self {
        let tls = client(hub, Some(fluidos_protocol::ALPN_ENROLL), None);
        let tcp = TcpStream::connect(hub.agent_addr).await.unwrap();
        let stream = tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    async fn write(&mut self, bytes: &str) {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes.as_bytes()).await.unwrap();
    }

    /// Read more bytes; `false` at EOF (or a reset).
    async fn fill(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
            .await
            .expect("read timed out");
        match read {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response's head (lowercase) and body; `None` at EOF.
    async fn response(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while self.buf.len() < end + 4 + len {
                    assert!(self.fill().await, "EOF inside a response");
                }
                let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).into_owned();
                self.buf.drain(..end + 4 + len);
                return Some((head, body));
            }
            if !self.fill().await {
                assert!(self.buf.is_empty(), "EOF inside a response head");
                return None;
            }
        }
    }
}

const GET_CA: &str = "GET /v1/ca HTTP/1.1\r\nhost: localhost\r\n\r\n";

#[tokio::test]
async fn keep_alive_connections_are_reused_between_requests() {
    let (_dir, hub) = start().await;
    let mut raw = Raw::connect(&hub).await;
    // Sequential requests with idle gaps, then two pipelined in one write.
    for _ in 0..3 {
        raw.write(GET_CA).await;
        let (head, body) = raw.response().await.unwrap();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
        assert!(body.contains("BEGIN CERTIFICATE"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    raw.write(&format!("{GET_CA}{GET_CA}")).await;
    for _ in 0..2 {
        let (head, body) = raw.response().await.unwrap();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body.contains("BEGIN CERTIFICATE"));
    }
    // A request split across writes.
    raw.write("GET /v1/ca HTTP/1.1\r\nho").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.write("st: localhost\r\n\r\n").await;
    assert!(raw.response().await.unwrap().0.starts_with("http/1.1 200"));

    // An unread request body must not be taken for the next request.
    raw.write(&format!(
        "POST /nowhere HTTP/1.1\r\nhost: localhost\r\ncontent-length: 15\r\n\r\nGET / HTTP/1.1\r\n{GET_CA}"
    ))
    .await;
    let (head, _) = raw.response().await.unwrap();
    assert!(head.starts_with("http/1.1 404"), "{head}");
    if let Some((head, body)) = raw.response().await {
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body.contains("BEGIN CERTIFICATE"));
        // And the connection is still usable.
        raw.write(GET_CA).await;
        assert!(raw.response().await.unwrap().0.starts_with("http/1.1 200"));
    }

    // The client's `Connection: close` is honoured.
    raw.write("GET /v1/ca HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await;
    let (head, _) = raw.response().await.unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(raw.response().await.is_none(), "connection must close");

    // HTTP/1.0 without keep-alive closes after the response.
    let mut raw = Raw::connect(&hub).await;
    raw.write("GET /v1/ca HTTP/1.0\r\nhost: localhost\r\n\r\n")
        .await;
    let (head, _) = raw.response().await.unwrap();
    assert!(head.starts_with("http/1.0 200"), "{head}");
    assert!(raw.response().await.is_none(), "connection must close");

    // An idle connection is closed when the hub shuts down.
    let mut raw = Raw::connect(&hub).await;
    raw.write(GET_CA).await;
    assert!(raw.response().await.is_some());
    tokio::time::timeout(Duration::from_secs(5), hub.stop())
        .await
        .expect("shutdown must not wait for idle connections")
        .unwrap();
    assert!(raw.response().await.is_none(), "connection must close");
}
