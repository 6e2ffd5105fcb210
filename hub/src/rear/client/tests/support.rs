//! Test hubs (own CA each), a tiny REAR echo server and a black hole, all on loopback.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::hub_identity::HubIdentity;
use crate::pki::Pki;
use crate::rear::client::{ClientSettings, RearClient};
use crate::rear::trust::{NodePeer, PeerTrust, RearTls, fingerprint, peer_node};

/// Body size of `GET /big`.
pub(super) const BIG: usize = 64 * 1024;

/// A hub state directory with its own CA and node certificate.
pub(super) struct TestHub {
    pub(super) dir: tempfile::TempDir,
    pub(super) identity: HubIdentity,
    pub(super) pki: Pki,
}

impl TestHub {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let identity = HubIdentity::generate("fluidos.eu");
        let pki = Pki::init(dir.path(), &identity, &[]).unwrap();
        Self { dir, identity, pki }
    }

    pub(super) fn node(&self) -> NodePeer {
        NodePeer {
            domain: self.identity.domain.clone(),
            node_id: self.identity.node_id.clone(),
        }
    }

    pub(super) fn ca_file(&self) -> PathBuf {
        self.dir.path().join(crate::pki::CA_CERT)
    }

    pub(super) fn leaf_fingerprint(&self) -> [u8; 32] {
        let (chain, _) = self.pki.server_cert_chain(self.dir.path()).unwrap();
        fingerprint(&chain[0])
    }

    pub(super) fn tls(&self, trust: &PeerTrust) -> RearTls {
        RearTls::new(&self.pki, self.dir.path(), trust).unwrap()
    }

    /// Trust `other` through its CA file.
    pub(super) fn tls_trusting_ca(&self, other: &TestHub) -> RearTls {
        self.tls(&PeerTrust {
            ca_files: vec![other.ca_file()],
            fingerprints: vec![],
        })
    }

    /// Trust `other` through the fingerprint of its node certificate.
    pub(super) fn tls_pinning(&self, other: &TestHub) -> RearTls {
        self.tls(&PeerTrust {
            ca_files: vec![],
            fingerprints: vec![other.leaf_fingerprint()],
        })
    }
}

pub(super) fn settings(timeout_ms: u64) -> ClientSettings {
    ClientSettings {
        timeout: Duration::from_millis(timeout_ms),
        max_body: 1024 * 1024,
    }
}

pub(super) fn client(tls: &RearTls) -> RearClient {
    RearClient::new(Some(Arc::clone(&tls.client)), settings(5_000))
}

/// A REAR echo server over mutual TLS: answers `<peer node or error>|<method>|<content
/// type>|<body>`, or [`BIG`] bytes on `/big`. A peer that is not a node gets 403.
pub(super) async fn tls_server(config: Arc<ServerConfig>, ip: &str) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let peer =
                    peer_node(stream.get_ref().1).map(|p| format!("{}/{}", p.domain, p.node_id));
                serve(TokioIo::new(stream), peer).await;
            });
        }
    });
    addr
}

/// The same echo server over plain HTTP (peer `plain`).
pub(super) async fn plain_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(TokioIo::new(tcp), Ok("plain".to_owned())));
        }
    });
    addr
}

/// Accepts TCP connections, then never reads nor writes (until the test ends).
pub(super) async fn black_hole() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    addr
}

/// Accepts TCP connections and answers `reply` verbatim, then closes.
pub(super) async fn raw_server(reply: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp.write_all(reply).await;
        }
    });
    addr
}

async fn serve<I>(io: TokioIo<I>, peer: Result<String, &'static str>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |req| echo(req, peer.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn echo(
    req: Request<Incoming>,
    peer: Result<String, &'static str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let peer = match peer {
        Ok(peer) => peer,
        Err(why) => return Ok(reply(StatusCode::FORBIDDEN, why.as_bytes().to_vec())),
    };
    if req.uri().path() == "/big" {
        return Ok(reply(StatusCode::OK, vec![b'x'; BIG]));
    }
    let method = req.method().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let uri = req.uri().to_string();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let text = format!(
        "{peer}|{method} {uri}|{content_type}|{}",
        String::from_utf8_lossy(&body)
    );
    Ok(reply(StatusCode::OK, text.into_bytes()))
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
