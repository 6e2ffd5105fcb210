//! Nothing is lost: a hub stopped for 30 s while agents keep sampling receives every report
//! exactly once after it returns; an agent killed with `kill -9` mid-stream loses nothing.
//!
//! "Exactly once" is asserted by counting: every sequence number the agent generated is either
//! accepted by the hub or still in the agent's outbox, the hub accepted each one once
//! (`acceptedTotal == lastSeq`, no gaps), and the hub's sequence is contiguous.

use std::time::Duration;

use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::Scratch;
use fluidos_tests::{bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);

fn u64_of(v: &serde_json::Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// `status -o json` outbox figures: (highest seq ever generated, rows held, dropped total).
fn outbox(agent: &TestAgent) -> (u64, u64, u64) {
    let status = agent.status();
    let o = &status["outbox"];
    (
        u64_of(o, "lastSeq"),
        u64_of(o, "rows"),
        u64_of(o, "droppedTotal"),
    )
}

/// Stop the agent, then wait until the hub's counters and the agent's outbox account for every
/// sequence number the agent generated; assert each was accepted exactly once.
async fn assert_every_report_accounted_once(hub: &TestHub, agent: &mut TestAgent) -> u64 {
    agent.stop();
    let (generated, left, dropped) = outbox(agent);
    let entry = eventually(Duration::from_secs(10), "hub counters to settle", || {
        let e = hub.agent(&agent.node);
        async move { e.filter(|e| e["lastSeq"].as_u64().unwrap_or(0) + left == generated) }
    })
    .await;
    assert_eq!(
        u64_of(&entry, "acceptedTotal"),
        u64_of(&entry, "lastSeq"),
        "each accepted once: {entry}"
    );
    assert_eq!(u64_of(&entry, "gapsTotal"), 0, "no gaps: {entry}");
    assert_eq!(dropped, 0, "the outbox dropped nothing");
    generated
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_down_for_30s_then_back_gets_every_report_exactly_once() {
    let scratch = Scratch::new("hub-outage");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let mut agents = Vec::new();
    for node in ["out-a", "out-b"] {
        let agent = TestAgent::enrolled(
            &bins,
            scratch.path(),
            &hub,
            node,
            &samples::board(node, "arm64", 4, 4),
        );
        agents.push(agent);
    }
    for agent in &mut agents {
        agent.start();
    }
    eventually(Duration::from_secs(20), "both agents reporting", || {
        let n = hub
            .agents()
            .iter()
            .filter(|a| a["lastSeq"].as_u64().unwrap_or(0) >= 2)
            .count();
        async move { (n == 2).then_some(()) }
    })
    .await;

    hub.stop();
    let before: Vec<u64> = agents.iter().map(|a| outbox(a).0).collect();
    // Keep sampling (heartbeats and changes) for 30 s while the hub is away.
    for step in 0..30u32 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if step % 3 == 0 {
            for agent in &agents {
                let cpus = 2 + step % 4;
                agent.set_sample(&samples::board(&agent.node, "arm64", cpus, 4));
            }
        }
    }
    for (agent, was) in agents.iter_mut().zip(&before) {
        assert!(
            agent.running(),
            "agent {} must survive the outage: {}",
            agent.node,
            agent.stderr()
        );
        let (last, rows, _) = outbox(agent);
        assert!(rows >= 20, "reports buffered during the outage: {rows}");
        assert!(last >= was + 20, "sampling went on: {last} after {was}");
    }

    hub.start().await;
    // The agents' jittered backoff is capped at 60 s, so the first retry may come that late.
    for agent in &agents {
        eventually(Duration::from_secs(90), "the outbox to drain", || {
            let depth = outbox(agent).1;
            async move { (depth == 0).then_some(()) }
        })
        .await;
    }
    for agent in &mut agents {
        let generated = assert_every_report_accounted_once(&hub, agent).await;
        assert!(generated >= 30, "{} generated {generated}", agent.node);
    }
    hub.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_killed_mid_stream_and_restarted_loses_nothing() {
    let scratch = Scratch::new("agent-kill");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let mut agent = TestAgent::enrolled(
        &bins,
        scratch.path(),
        &hub,
        "crashy",
        &samples::board("crashy", "arm64", 4, 4),
    );
    for round in 0..3u32 {
        agent.start();
        // Change the sample every 200 ms so reports stream continuously, then crash.
        for i in 0..10u32 {
            agent.set_sample(&samples::board(
                "crashy",
                "arm64",
                2 + (round * 10 + i) % 6,
                4,
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        agent.kill9();
    }
    agent.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let generated = assert_every_report_accounted_once(&hub, &mut agent).await;
    assert!(generated >= 10, "reports streamed: {generated}");
    hub.stop();
}
