//! A small blocking HTTPS client for the apiserver, authenticated with the admin token: the
//! readiness probes and the few admin calls the fixture makes synchronously (namespaces,
//! ServiceAccounts, TokenRequest). Blocking on purpose: it works with or without a tokio
//! runtime on the calling thread. Also the plain-HTTP probe of etcd's `/health`.

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin's HTTPS client for one apiserver port.
pub(super) struct AdminApi {
    tls: Arc<rustls::ClientConfig>,
    token: String,
    port: u16,
}

/// An HTTP response: status and body.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: String,
}

impl AdminApi {
    /// Trust `ca_pem` only, send `token`; the port is set with [`AdminApi::with_port`].
    pub(super) fn new(ca_pem: &str, token: &str) -> anyhow::Result<AdminApi> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(AdminApi {
            tls: Arc::new(tls),
            token: token.to_owned(),
            port: 0,
        })
    }

    /// The same client, aimed at `port`.
    pub(super) fn with_port(&self, port: u16) -> AdminApi {
        AdminApi {
            tls: self.tls.clone(),
            token: self.token.clone(),
            port,
        }
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// One request on a fresh connection (HTTP/1.0: no chunking, closed after the reply).
    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))?;
        tcp.set_write_timeout(Some(IO_TIMEOUT))?;
        let name = ServerName::try_from("127.0.0.1")?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), name)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        let payload = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
             Accept: application/json\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.port,
            self.token,
            payload.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(payload.as_bytes())?;
        stream.flush()?;
        parse_reply(&read_all(&mut stream)?)
    }

    /// Create namespace `name`; an existing one is fine.
    pub(super) fn create_namespace(&self, name: &str) -> anyhow::Result<()> {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.create("/api/v1/namespaces", &body)
            .with_context(|| format!("creating namespace {name}"))
    }

    /// Create ServiceAccount `namespace/name`; an existing one is fine.
    pub(super) fn create_service_account(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        let body =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}});
        self.create(
            &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
            &body,
        )
        .with_context(|| format!("creating ServiceAccount {namespace}/{name}"))
    }

    /// A token for ServiceAccount `namespace/name` from the TokenRequest API, valid `ttl`.
    pub(super) fn request_token(
        &self,
        namespace: &str,
        name: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": ttl.as_secs()},
        });
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
        let reply = self.call("POST", &path, Some(&body))?;
        anyhow::ensure!(
            reply.status == 201,
            "TokenRequest for {namespace}/{name}: HTTP {}: {}",
            reply.status,
            reply.body
        );
        let answer: Value = serde_json::from_str(&reply.body)?;
        answer["status"]["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("TokenRequest answer without a token: {}", reply.body))
    }

    fn create(&self, path: &str, body: &Value) -> anyhow::Result<()> {
        let reply = self.call("POST", path, Some(body))?;
        match reply.status {
            201 | 409 => Ok(()),
            status => anyhow::bail!("HTTP {status}: {}", reply.body),
        }
    }
}

/// `GET http://127.0.0.1:port/health` of etcd: true when it reports `"health":"true"`.
pub(super) fn etcd_healthy(port: u16) -> bool {
    let probe = || -> anyhow::Result<bool> {
        let mut tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))?;
        tcp.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let reply = parse_reply(&read_all(&mut tcp)?)?;
        Ok(reply.status == 200 && reply.body.replace(' ', "").contains("\"health\":\"true\""))
    };
    probe().unwrap_or(false)
}

/// Read to the end of the stream; a peer that closes without TLS close_notify after
/// sending data still gave a whole HTTP/1.0 reply.
fn read_all(stream: &mut impl std::io::Read) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match stream.read_to_end(&mut buf) {
        Ok(_) => Ok(buf),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => Ok(buf),
        Err(e) => Err(e.into()),
    }
}

/// Status code and body of a raw HTTP/1.x response.
fn parse_reply(raw: &[u8]) -> anyhow::Result<Reply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("HTTP reply without a header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad HTTP status line in {head:?}"))?;
    Ok(Reply {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let reply = parse_reply(b"HTTP/1.0 403 Forbidden\r\nA: b\r\n\r\n{\"x\":1}").unwrap();
        assert_eq!(reply.status, 403);
        assert_eq!(reply.body, "{\"x\":1}");
    }

    #[test]
    fn rejects_truncated_replies() {
        assert!(parse_reply(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(parse_reply(b"garbage\r\n\r\n").is_err());
    }
}
