//! REAR mutual TLS and the client, end to end over loopback with real certificates: two hubs,
//! each with its own CA.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::*;
use support::{BIG, TestHub, black_hole, client, plain_server, raw_server, settings, tls_server};

fn text(response: &RearResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

#[tokio::test]
async fn peers_trusted_through_ca_files_see_each_other() {
    let (a, b) = (TestHub::new(), TestHub::new());
    let addr = tls_server(b.tls_trusting_ca(&a).server, "127.0.0.1").await;
    let rear = client(&a.tls_trusting_ca(&b));

    let response = rear
        .get(&addr.to_string(), "/api/listflavors?x=1")
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.peer, Some(b.node()));
    let a_node = format!("fluidos.eu/{}", a.identity.node_id);
    assert_eq!(
        text(&response),
        format!("{a_node}|GET /api/listflavors?x=1|-|")
    );

    let body = serde_json::json!({"flavorID": "f-1"});
    let url = format!("https://localhost:{}", addr.port());
    let response = rear
        .post_json(&url, "/api/reservations", &body)
        .await
        .unwrap();
    assert_eq!(response.peer, Some(b.node()));
    assert_eq!(
        text(&response),
        format!("{a_node}|POST /api/reservations|application/json|{{\"flavorID\":\"f-1\"}}")
    );
}

#[tokio::test]
async fn peers_trusted_through_pinned_fingerprints_see_each_other() {
    let (a, b) = (TestHub::new(), TestHub::new());
    let addr = tls_server(b.tls_pinning(&a).server, "127.0.0.1").await;
    let response = client(&a.tls_pinning(&b))
        .get(&addr.to_string(), "/")
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.peer, Some(b.node()));
    assert!(text(&response).starts_with(&format!("fluidos.eu/{}|", a.identity.node_id)));
}

#[tokio::test]
async fn the_server_refuses_an_unknown_client() {
    let (a, b) = (TestHub::new(), TestHub::new());
    // B trusts only its own CA and a pin that is not A's.
    let other = TestHub::new();
    let addr = tls_server(b.tls_pinning(&other).server, "127.0.0.1").await;
    let err = client(&a.tls_trusting_ca(&b))
        .get(&addr.to_string(), "/")
        .await
        .unwrap_err();
    // With TLS 1.3 the client learns of the refusal only when it reads the answer.
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
    assert!(err.is_trust());
}

#[tokio::test]
async fn the_client_refuses_an_unknown_server() {
    let (a, b) = (TestHub::new(), TestHub::new());
    let addr = tls_server(b.tls_trusting_ca(&a).server, "127.0.0.1").await;
    let other = TestHub::new();
    for tls in [a.tls(&Default::default()), a.tls_pinning(&other)] {
        let err = client(&tls).get(&addr.to_string(), "/").await.unwrap_err();
        assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
        assert!(err.is_trust());
    }
}

#[tokio::test]
async fn the_server_name_is_checked_unless_the_server_is_pinned() {
    let (a, b) = (TestHub::new(), TestHub::new());
    // 127.0.0.2 reaches a wildcard listener but is not among B's SANs.
    let addr = tls_server(b.tls_trusting_ca(&a).server, "0.0.0.0").await;
    let wrong_name = format!("127.0.0.2:{}", addr.port());
    let err = client(&a.tls_trusting_ca(&b))
        .get(&wrong_name, "/")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
    let pinned = client(&a.tls_pinning(&b))
        .get(&wrong_name, "/")
        .await
        .unwrap();
    assert_eq!(pinned.peer, Some(b.node()));
}

fn agent_client_config(hub: &TestHub) -> Arc<ClientConfig> {
    let (cert, key) = hub
        .pki
        .issue_agent_cert("pi-1", Duration::from_secs(3600))
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(hub.pki.ca_der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from(cert.der)],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[tokio::test]
async fn an_agent_certificate_is_not_a_rear_peer() {
    let b = TestHub::new();
    // B's own CA signed the agent certificate, so TLS accepts it; peer_node must not.
    let addr = tls_server(b.tls(&Default::default()).server, "127.0.0.1").await;
    let rear = RearClient::new(Some(agent_client_config(&b)), settings(5_000));
    let response = rear.get(&addr.to_string(), "/").await.unwrap();
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(text(&response).contains("agent"), "{}", text(&response));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let a = TestHub::new();
    let hole = black_hole().await;
    let rear = RearClient::new(
        Some(Arc::clone(&a.tls(&Default::default()).client)),
        settings(300),
    )
    .allow_plain(true);
    for address in [hole.to_string(), format!("http://{hole}")] {
        let started = Instant::now();
        let err = rear.get(&address, "/").await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(err.to_string().ends_with("timed out after 300ms"), "{err}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let (a, b) = (TestHub::new(), TestHub::new());
    let addr = tls_server(b.tls_trusting_ca(&a).server, "127.0.0.1").await;
    let tls = Some(Arc::clone(&a.tls_trusting_ca(&b).client));
    let limited = |max_body| {
        RearClient::new(
            tls.clone(),
            ClientSettings {
                max_body,
                ..settings(5_000)
            },
        )
    };

    let err = limited(BIG - 1)
        .get(&addr.to_string(), "/big")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::BodyTooLarge { limit, .. } if limit == BIG - 1),
        "{err:?}"
    );
    let response = limited(BIG).get(&addr.to_string(), "/big").await.unwrap();
    assert_eq!(response.body.len(), BIG);
}

#[tokio::test]
async fn plain_http_only_when_allowed_and_only_when_explicit() {
    let addr = plain_server().await;
    let url = format!("http://{addr}");
    let rear = RearClient::new(None, settings(5_000));
    assert!(!rear.plain_allowed());
    let err = rear.get(&url, "/x").await.unwrap_err();
    assert!(matches!(err, ClientError::PlainRefused(_)), "{err:?}");
    assert!(err.is_config());

    let rear = rear.allow_plain(true);
    let response = rear.get(&url, "/x").await.unwrap();
    assert_eq!(
        (response.status, response.peer.clone()),
        (StatusCode::OK, None)
    );
    assert_eq!(text(&response), "plain|GET /x|-|");
    // A bare host:port means HTTPS, which needs the TLS configuration.
    let err = rear.get(&addr.to_string(), "/x").await.unwrap_err();
    assert!(matches!(err, ClientError::NoTls(_)), "{err:?}");
}

#[tokio::test]
async fn bad_addresses_paths_and_replies_are_errors_not_panics() {
    let rear = RearClient::new(None, settings(2_000)).allow_plain(true);
    for bad in ["", "ftp://x:1", "x:1/p", "u@x:1"] {
        let err = rear.get(bad, "/").await.unwrap_err();
        assert!(
            matches!(err, ClientError::BadAddress(_)),
            "{bad:?}: {err:?}"
        );
    }
    let err = rear
        .get("http://127.0.0.1:1", "no slash")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request { .. }), "{err:?}");

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let err = rear
        .get(&format!("http://{closed_addr}"), "/")
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    for reply in [
        &b"garbage\r\n\r\n"[..],
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
    ] {
        let addr = raw_server(reply).await;
        let err = rear.get(&format!("http://{addr}"), "/").await.unwrap_err();
        assert!(
            matches!(err, ClientError::Http { .. }),
            "{reply:?}: {err:?}"
        );
    }
}
