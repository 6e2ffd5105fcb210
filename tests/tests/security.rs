//! Enrollment and authorization over real TLS: bad tokens and a CA that does not match the
//! token are refused; no client certificate fails at TLS; another node's reports get 403;
//! revoked certificates are refused.

use std::time::Duration;

use fluidos_protocol::agent::ReportBatch;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::Scratch;
use fluidos_tests::raw::TlsClient;
use fluidos_tests::{bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_refused(out: &std::process::Output, agent: &TestAgent, what: &str, needle: &str) {
    assert!(!out.status.success(), "{what}: enrollment should fail");
    let err = stderr(out).to_lowercase();
    assert!(
        err.contains(needle),
        "{what}: stderr should mention {needle:?}: {err}"
    );
    assert!(
        !agent.state.join("agent.crt").exists(),
        "{what}: no certificate may be written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_refuses_wrong_expired_reused_tokens_and_a_foreign_ca() {
    let scratch = Scratch::new("enroll");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let sample = samples::board("x", "amd64", 2, 2);

    // Wrong secret, right shape and CA hash.
    let good = hub.token("10m", 1);
    let (creds, hash) = good.split_once('@').unwrap();
    let (id, _) = creds.split_once('.').unwrap();
    let wrong = format!("{id}.zzzzzzzzzzzzzzzz@{hash}");
    let a = TestAgent::new(&bins, scratch.path(), "wrong", &sample);
    assert_refused(&a.enroll(&hub.url(), &wrong), &a, "wrong secret", "token");

    // Expired.
    let short = hub.token("1s", 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let b = TestAgent::new(&bins, scratch.path(), "expired", &sample);
    assert_refused(&b.enroll(&hub.url(), &short), &b, "expired token", "token");

    // Reused: the first enrollment consumes the single use.
    let c1 = TestAgent::new(&bins, scratch.path(), "first", &sample);
    c1.enroll_ok(&hub.url(), &good);
    let c2 = TestAgent::new(&bins, scratch.path(), "second", &sample);
    assert_refused(&c2.enroll(&hub.url(), &good), &c2, "reused token", "token");

    // A token pinning another CA: the agent refuses the hub before sending the token.
    let fresh = hub.token("10m", 1);
    let (creds, _) = fresh.split_once('@').unwrap();
    let foreign = format!("{creds}@sha256:{}", "ab".repeat(32));
    let d = TestAgent::new(&bins, scratch.path(), "foreign", &sample);
    assert_refused(&d.enroll(&hub.url(), &foreign), &d, "foreign CA", "ca");
    // The token was not spent by the refused attempt.
    d.enroll_ok(&hub.url(), &fresh);

    let nodes: Vec<String> = hub
        .agents()
        .iter()
        .map(|a| a["node"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        nodes.len(),
        2,
        "only the two good enrollments are registered: {nodes:?}"
    );
    hub.stop();
}

fn batch_for(node: &str) -> Vec<u8> {
    let batch = ReportBatch {
        node_name: node.to_owned(),
        resume_from: 1,
        dropped_total: 0,
        reports: Vec::new(),
    };
    serde_json::to_vec(&batch).expect("report batches serialise")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_the_identity_no_cert_fails_at_tls_impersonation_is_403_revoked_is_refused()
 {
    let scratch = Scratch::new("authz");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    let addr = hub.start().await.agent_api;
    let a = TestAgent::new(
        &bins,
        scratch.path(),
        "node-a",
        &samples::board("node-a", "amd64", 2, 2),
    );
    let b = TestAgent::new(
        &bins,
        scratch.path(),
        "node-b",
        &samples::board("node-b", "amd64", 2, 2),
    );
    a.enroll_ok(&hub.url(), &hub.token("10m", 1));
    b.enroll_ok(&hub.url(), &hub.token("10m", 1));
    let json = Some("application/json");

    let anonymous = TlsClient::from_agent_dir(&a.state, false);
    let res = anonymous
        .request(addr, "POST", "/v1/reports", json, batch_for("node-a"))
        .await;
    assert!(
        res.is_err(),
        "a client without a certificate must fail at TLS, got {res:?}"
    );

    let as_a = TlsClient::from_agent_dir(&a.state, true);
    let (status, body) = as_a
        .request(addr, "POST", "/v1/reports", json, batch_for("node-a"))
        .await
        .unwrap();
    assert_eq!(status, 200, "own reports are accepted: {body}");
    let (status, body) = as_a
        .request(addr, "POST", "/v1/reports", json, batch_for("node-b"))
        .await
        .unwrap();
    assert_eq!(status, 403, "A posting as B: {body}");
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(err["code"], "forbidden");

    assert!(hub.revoke("node-a"), "revoke succeeds");
    assert!(
        !hub.revoke("no-such-node"),
        "revoking an unknown node fails"
    );
    eventually(Duration::from_secs(10), "revocation to take effect", || {
        let client = &as_a;
        async move {
            match client
                .request(addr, "POST", "/v1/reports", json, batch_for("node-a"))
                .await
            {
                Ok((403, _)) | Err(_) => Some(()),
                Ok(_) => None,
            }
        }
    })
    .await;
    let as_b = TlsClient::from_agent_dir(&b.state, true);
    let (status, _) = as_b
        .request(addr, "POST", "/v1/reports", json, batch_for("node-b"))
        .await
        .unwrap();
    assert_eq!(status, 200, "B is unaffected by A's revocation");
    let listed = hub.agent("node-a").expect("node-a listed");
    assert_eq!(listed["revoked"], true);
    hub.stop();
}
