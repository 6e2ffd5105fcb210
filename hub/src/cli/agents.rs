//! `fluidos-hub agents`: list enrolled agents from the registry (which the running hub
//! updates every second), or revoke one.
//!
//! The state `lost` uses the heartbeat of the running hub when `run.json` says it (a hub
//! started with `--heartbeat 1s` is judged by 1 s), else the configured one.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use time::OffsetDateTime;

use super::table::{self, rfc3339};
use super::{AgentsArgs, AgentsCommand, Output};
use crate::config::Config;
use crate::liveness::{self, Liveness};
use crate::registry::{AgentRecord, Registry};
use crate::server::RunFile;
use crate::store::DB_FILE;

/// One agent as printed (`-o json` keys are part of the CLI contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentView {
    /// Node name.
    pub node: String,
    /// `live`, `lost`, `revoked` or `never` (enrolled, never reported).
    pub state: &'static str,
    /// Serial of the current certificate (hex).
    pub cert_serial: String,
    /// Expiry of the current certificate.
    #[serde(with = "time::serde::rfc3339")]
    pub cert_not_after: OffsetDateTime,
    /// First enrollment.
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
    /// Last report, as last saved by the hub.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// Whether the agent is revoked.
    pub revoked: bool,
    /// Highest contiguous sequence number.
    pub last_seq: u64,
    /// Reports accepted.
    pub accepted_total: u64,
    /// Duplicates seen.
    pub duplicates_total: u64,
    /// Sequence numbers skipped (dropped by the agent's outbox bounds).
    pub gaps_total: u64,
}

/// The printed view of a registry record.
pub(crate) fn view(record: AgentRecord, now: OffsetDateTime, heartbeat: Duration) -> AgentView {
    let state = match (record.revoked, record.last_seen) {
        (true, _) => "revoked",
        (false, None) => "never",
        (false, seen) => match liveness::classify(seen, now, heartbeat) {
            Liveness::Live => "live",
            Liveness::Lost => "lost",
        },
    };
    AgentView {
        node: record.node,
        state,
        cert_serial: record.serial_hex,
        cert_not_after: record.not_after,
        enrolled_at: record.enrolled_at,
        last_seen: record.last_seen,
        revoked: record.revoked,
        last_seq: record.ingest.last_seq,
        accepted_total: record.ingest.accepted_total,
        duplicates_total: record.ingest.duplicates_total,
        gaps_total: record.ingest.gaps_total,
    }
}

/// Run `agents` / `agents revoke`.
pub(super) async fn run(config: &Config, args: &AgentsArgs) -> anyhow::Result<ExitCode> {
    let db = config.state_dir.join(DB_FILE);
    anyhow::ensure!(
        db.exists(),
        "{} is not an initialised hub (no {DB_FILE})",
        config.state_dir.display()
    );
    let registry = tokio::task::spawn_blocking(move || Registry::open(&db)).await??;
    if let Some(AgentsCommand::Revoke { node }) = &args.command {
        return revoke(registry, node.clone()).await;
    }
    let records = tokio::task::spawn_blocking(move || registry.agents()).await??;
    let heartbeat = RunFile::read(&config.state_dir).map_or(config.heartbeat, |r| {
        Duration::from_secs(r.heartbeat_seconds)
    });
    let now = OffsetDateTime::now_utc();
    let views: Vec<AgentView> = records
        .into_iter()
        .map(|r| view(r, now, heartbeat))
        .collect();
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&views)?),
        Output::Yaml => print!("{}", serde_yaml::to_string(&views)?),
        Output::Table => print!("{}", render(&views, now)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(registry: Registry, node: String) -> anyhow::Result<ExitCode> {
    let (known, revoked) = tokio::task::spawn_blocking({
        let node = node.clone();
        move || -> anyhow::Result<_> {
            Ok((registry.agent(&node)?.is_some(), registry.revoke(&node)?))
        }
    })
    .await?
    .context("cannot revoke")?;
    if !known {
        anyhow::bail!("no agent named {node:?} has enrolled");
    }
    eprintln!(
        "revoked {node} ({revoked} certificate{})",
        if revoked == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

fn render(views: &[AgentView], now: OffsetDateTime) -> String {
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            vec![
                v.node.clone(),
                v.state.to_owned(),
                v.cert_serial.chars().take(8).collect(),
                rfc3339(v.cert_not_after),
                v.last_seen.map_or_else(
                    || "-".to_owned(),
                    |t| format!("{} ago", table::age((now - t).whole_seconds())),
                ),
                v.last_seq.to_string(),
                v.accepted_total.to_string(),
                v.duplicates_total.to_string(),
                v.gaps_total.to_string(),
            ]
        })
        .collect();
    let headers = [
        "NODE",
        "STATE",
        "SERIAL",
        "CERT EXPIRES",
        "LAST SEEN",
        "LAST SEQ",
        "ACCEPTED",
        "DUPLICATES",
        "GAPS",
    ];
    table::render(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::IngestCounters;

    fn record(revoked: bool, last_seen: Option<OffsetDateTime>) -> AgentRecord {
        AgentRecord {
            node: "pi-1".into(),
            serial_hex: "0123456789abcdef".into(),
            not_after: OffsetDateTime::UNIX_EPOCH,
            revoked,
            enrolled_at: OffsetDateTime::UNIX_EPOCH,
            last_seen,
            ingest: IngestCounters {
                last_seq: 7,
                accepted_total: 7,
                duplicates_total: 2,
                gaps_total: 0,
            },
        }
    }

    #[test]
    fn states_follow_revocation_and_liveness() {
        let now = OffsetDateTime::now_utc();
        let h = Duration::from_secs(10);
        assert_eq!(view(record(true, Some(now)), now, h).state, "revoked");
        assert_eq!(view(record(false, None), now, h).state, "never");
        assert_eq!(view(record(false, Some(now)), now, h).state, "live");
        assert_eq!(
            view(
                record(false, Some(now - time::Duration::minutes(1))),
                now,
                h
            )
            .state,
            "lost"
        );
    }

    #[test]
    fn json_keys_are_the_documented_ones() {
        let v = serde_json::to_value(view(
            record(false, None),
            OffsetDateTime::now_utc(),
            Duration::from_secs(10),
        ))
        .unwrap();
        for key in [
            "node",
            "state",
            "lastSeq",
            "acceptedTotal",
            "duplicatesTotal",
            "gapsTotal",
            "certNotAfter",
            "lastSeen",
            "revoked",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert!(v["lastSeen"].is_null());
        assert_eq!(v["certNotAfter"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn the_table_shortens_serials() {
        let now = OffsetDateTime::now_utc();
        let out = render(
            &[view(record(false, Some(now)), now, Duration::from_secs(10))],
            now,
        );
        assert!(out.starts_with("NODE"));
        assert!(
            out.contains("01234567 ") && !out.contains("0123456789"),
            "{out}"
        );
    }
}
