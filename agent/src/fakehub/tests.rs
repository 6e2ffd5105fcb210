//! Enrollment, reporting, renewal and shutdown against the fake hub, over real TLS.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fluidos_protocol::agent::ResourceSample;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::collect::FixedSampler;
use crate::config::{Config, FileConfig, Overrides};
use crate::enroll::{EnrollError, EnrollOptions, enroll};
use crate::outbox::Outbox;
use crate::runner::{EX_CONFIG, RunError, run};
use crate::state::StateDir;

/// Poll `check` until it holds (15 s at most).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn options(hub: &FakeHub, state_dir: &Path, token: String) -> EnrollOptions {
    EnrollOptions {
        hub: hub.url.clone(),
        token,
        node_name: Some("agent-1".to_owned()),
        state_dir: state_dir.to_owned(),
        request_timeout: Duration::from_secs(5),
    }
}

fn config(state_dir: &Path, heartbeat: Duration) -> Config {
    let overrides = Overrides {
        state_dir: Some(state_dir.to_owned()),
        heartbeat: Some(heartbeat),
        sample_interval: Some(Duration::from_millis(20)),
        request_timeout: Some(Duration::from_secs(2)),
        ..Overrides::default()
    };
    Config::resolve(&overrides, FileConfig::default()).unwrap()
}

fn write_sample(path: &Path, cpu_millis: u64) {
    let mut sample = ResourceSample {
        hostname: "sim".into(),
        architecture: "arm64".into(),
        ..Default::default()
    };
    sample.offered.cpu_millis = cpu_millis;
    std::fs::write(path, serde_json::to_vec(&sample).unwrap()).unwrap();
}

fn accepted_seqs(hub: &FakeHub) -> Vec<u64> {
    hub.with(|s| s.accepted.iter().map(|r| r.seq).collect())
}

struct Agent {
    _dir: tempfile::TempDir,
    state_dir: PathBuf,
    sample: PathBuf,
    hub: FakeHub,
}

async fn enrolled_agent(validity: time::Duration) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let hub = FakeHub::start(state_dir.clone(), validity).await;
    enroll(options(&hub, &state_dir, hub.token.clone()))
        .await
        .unwrap();
    let sample = dir.path().join("sample.json");
    write_sample(&sample, 4000);
    Agent {
        _dir: dir,
        state_dir,
        sample,
        hub,
    }
}

fn start(
    agent: &Agent,
    heartbeat: Duration,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), RunError>>,
) {
    let shutdown = CancellationToken::new();
    let sampler = Box::new(FixedSampler::new(&agent.sample));
    let task = tokio::spawn(run(
        config(&agent.state_dir, heartbeat),
        sampler,
        shutdown.clone(),
    ));
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_pins_the_ca_and_stores_a_private_key_with_mode_0600() {
    let agent = enrolled_agent(time::Duration::days(7)).await;
    let state = StateDir::new(&agent.state_dir);
    let enrollment = state.read_enrollment().unwrap().unwrap();
    assert_eq!(
        (enrollment.node_name.as_str(), enrollment.domain.as_str()),
        ("agent-1", DOMAIN)
    );
    assert_eq!(enrollment.hub_url, agent.hub.url.to_string());
    assert_eq!(enrollment.heartbeat_seconds, 10);
    let mode = std::fs::metadata(state.path("agent.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!state.path("agent.key.next").exists());
    assert!(state.path("ca.crt").exists() && state.path("agent.crt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_refuses_a_hub_whose_ca_does_not_match_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let hub = FakeHub::start(dir.path().to_owned(), time::Duration::days(7)).await;
    let err = enroll(options(&hub, dir.path(), hub.token_for_another_ca()))
        .await
        .unwrap_err();
    assert!(matches!(err, EnrollError::CaMismatch(_)));
    let zeros = "0".repeat(64);
    assert_eq!(
        err.to_string(),
        format!("hub CA does not match the token's sha256:{zeros}: refusing to enroll")
    );
    assert!(!dir.path().join("agent.key").exists() && !dir.path().join("agent.key.next").exists());
    assert!(!hub.with(|s| s.token_used), "the token was never sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_token_is_refused_with_a_hint() {
    let agent = enrolled_agent(time::Duration::days(7)).await;
    let again = options(&agent.hub, &agent.state_dir, agent.hub.token.clone());
    let err = enroll(again).await.unwrap_err();
    assert!(
        matches!(&err, EnrollError::TokenRefused { code, .. } if code == "token_used"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("mint a new one with `fluidos-hub token create`")
    );
    assert!(!agent.state_dir.join("agent.key.next").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_arrive_in_order_changes_at_once_and_survive_a_hub_outage() {
    let agent = enrolled_agent(time::Duration::days(7)).await;
    let (shutdown, task) = start(&agent, Duration::from_millis(150));
    eventually("three reports", || accepted_seqs(&agent.hub).len() >= 3).await;

    agent.hub.with(|s| s.unavailable = true);
    let before = accepted_seqs(&agent.hub).len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    write_sample(&agent.sample, 1000);
    agent.hub.with(|s| s.unavailable = false);
    eventually("the changed offer", || {
        agent.hub.with(|s| {
            s.accepted
                .iter()
                .any(|r| r.sample.offered.cpu_millis == 1000)
        })
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();

    let seqs = accepted_seqs(&agent.hub);
    assert!(
        seqs.len() > before + 1,
        "reports queued during the outage were delivered"
    );
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "in order, no gap, no duplicate"
    );
    assert!(
        agent
            .hub
            .with(|s| s.batches.iter().all(|b| b.resume_from == b.reports[0].seq))
    );
    let outbox = Outbox::open_read_only(&agent.state_dir.join("outbox.db")).unwrap();
    let stats = outbox.stats().unwrap();
    assert!(stats.last_success_at.is_some());
    assert_eq!(stats.dropped_total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_renewed_at_two_thirds_of_its_life() {
    let agent = enrolled_agent(time::Duration::seconds(3)).await;
    let first = StateDir::new(&agent.state_dir)
        .read_enrollment()
        .unwrap()
        .unwrap();
    let (shutdown, task) = start(&agent, Duration::from_millis(100));
    eventually("a renewal", || agent.hub.with(|s| s.renewals >= 1)).await;
    let after_renewal = accepted_seqs(&agent.hub).len();
    eventually("reports over the new certificate", || {
        accepted_seqs(&agent.hub).len() >= after_renewal + 3
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let renewed = StateDir::new(&agent.state_dir)
        .read_enrollment()
        .unwrap()
        .unwrap();
    assert!(renewed.not_after > first.not_after);
    assert!(!agent.state_dir.join("agent.key.next").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_stops_run_with_exit_code_78() {
    let agent = enrolled_agent(time::Duration::days(7)).await;
    let state = StateDir::new(&agent.state_dir);
    let mut enrollment = state.read_enrollment().unwrap().unwrap();
    enrollment.not_after = OffsetDateTime::now_utc() - time::Duration::hours(1);
    state.write_enrollment(&enrollment).unwrap();
    let (_shutdown, task) = start(&agent, Duration::from_secs(1));
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.exit_code(), EX_CONFIG);
    let text = err.to_string();
    assert!(text.starts_with("client certificate expired at "), "{text}");
    assert!(
        text.contains(&format!(
            "fluidos-agent enroll --hub {} --token <new token>",
            agent.hub.url
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_the_hub_is_gone_keeps_the_reports() {
    let agent = enrolled_agent(time::Duration::days(7)).await;
    let FakeHub { url, .. } = &agent.hub;
    let gone = format!("{url}");
    agent.hub.task.abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (shutdown, task) = start(&agent, Duration::from_millis(50));
    let db = agent.state_dir.join("outbox.db");
    eventually("queued reports", || {
        db.exists()
            && Outbox::open_read_only(&db)
                .and_then(|o| o.stats())
                .is_ok_and(|s| s.rows >= 3)
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(6), task)
        .await
        .expect("stops within the grace")
        .unwrap()
        .unwrap();
    let stats = Outbox::open_read_only(&db).unwrap().stats().unwrap();
    assert!(stats.rows >= 3);
    assert!(
        stats.last_error.is_some_and(|e| e.contains(&gone)),
        "the error names the hub"
    );
}
