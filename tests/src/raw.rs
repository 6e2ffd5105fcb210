//! A bare HTTP/1.1 client over TLS (optionally with a client certificate) or plain TCP, for the
//! tests that send what a well-behaved agent never would: no certificate, someone else's node
//! name, malformed or oversized bodies, wrong content types, unknown paths.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Client-side TLS material.
pub struct TlsClient {
    config: Arc<rustls::ClientConfig>,
}

/// Why a request did not produce an HTTP response.
#[derive(Debug)]
pub struct RawError(pub String);

impl TlsClient {
    /// Trust `ca.crt` of `dir`, and present `agent.crt`/`agent.key` of `dir` when `with_cert`.
    pub fn from_agent_dir(dir: &Path, with_cert: bool) -> TlsClient {
        let ca = CertificateDer::from_pem_file(dir.join("ca.crt")).expect("agent ca.crt");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).expect("CA parses");
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let mut config = if with_cert {
            let chain = CertificateDer::pem_file_iter(dir.join("agent.crt"))
                .expect("agent.crt")
                .collect::<Result<Vec<_>, _>>()
                .expect("agent.crt parses");
            let key = PrivateKeyDer::from_pem_file(dir.join("agent.key")).expect("agent.key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert usable")
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsClient {
            config: Arc::new(config),
        }
    }

    /// One request on a fresh connection. `Err` when TLS or HTTP fails before a response.
    pub async fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, String), RawError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| RawError(format!("connect: {e}")))?;
        let name = ServerName::try_from("localhost").map_err(|e| RawError(e.to_string()))?;
        let tls = TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| RawError(format!("tls: {e}")))?;
        send(TokioIo::new(tls), addr, method, path, content_type, body).await
    }
}

async fn send<T>(
    io: T,
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, String), RawError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| RawError(format!("http handshake: {e}")))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| RawError(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| RawError(format!("request: {e}")))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| RawError(format!("body: {e}")))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// GET over plain HTTP (the admin port).
pub async fn plain_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let tcp = TcpStream::connect(addr).await.expect("connect admin port");
    send(TokioIo::new(tcp), addr, "GET", path, None, Vec::new())
        .await
        .expect("admin answers")
}
