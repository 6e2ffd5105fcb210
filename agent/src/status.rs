//! `fluidos-agent status`: identity, certificate expiry, last sample, outbox depth and the
//! last successful report, read from the state directory only (works whether or not `run` is
//! running; the outbox is opened read-only).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fluidos_protocol::agent::ResourceSample;
use serde::Serialize;
use time::OffsetDateTime;

use crate::outbox::{Outbox, OutboxError, OutboxStats};
use crate::state::{OUTBOX_FILE, StateDir, StateError, format_time};

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// `enrollment.json` is unreadable.
    #[error("cannot read the enrollment")]
    State(#[from] StateError),
    /// The outbox is unreadable.
    #[error("cannot read the outbox")]
    Outbox(#[from] OutboxError),
}

/// What `status` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The state directory read.
    pub state_dir: PathBuf,
    /// Whether `enrollment.json` exists.
    pub enrolled: bool,
    /// Node name.
    pub node_name: Option<String>,
    /// FLUIDOS domain.
    pub domain: Option<String>,
    /// Hub URL.
    pub hub_url: Option<String>,
    /// Certificate end of validity.
    #[serde(with = "time::serde::rfc3339::option")]
    pub certificate_not_after: Option<OffsetDateTime>,
    /// Whether the certificate has expired.
    pub certificate_expired: bool,
    /// Outbox figures (`None` before the first `run`).
    pub outbox: Option<OutboxStats>,
}

/// Read the status of the agent whose state is in `state_dir`, at `now`.
pub fn read(state_dir: &Path, now: OffsetDateTime) -> Result<Status, StatusError> {
    let state = StateDir::new(state_dir);
    let enrollment = state.read_enrollment()?;
    let outbox_path = state.path(OUTBOX_FILE);
    let outbox = if outbox_path.exists() {
        Some(Outbox::open_read_only(&outbox_path)?.stats()?)
    } else {
        None
    };
    Ok(Status {
        state_dir: state_dir.to_owned(),
        enrolled: enrollment.is_some(),
        certificate_expired: enrollment.as_ref().is_some_and(|e| e.is_expired(now)),
        certificate_not_after: enrollment.as_ref().map(|e| e.not_after),
        node_name: enrollment.as_ref().map(|e| e.node_name.clone()),
        domain: enrollment.as_ref().map(|e| e.domain.clone()),
        hub_url: enrollment.map(|e| e.hub_url),
        outbox,
    })
}

/// Human-readable table.
pub fn render_table(status: &Status) -> String {
    let stats = status.outbox.clone().unwrap_or_default();
    let mut out = String::new();
    for (key, value) in identity_rows(status).into_iter().chain(outbox_rows(&stats)) {
        let _ = writeln!(out, "{key:<16}{value}");
    }
    out
}

fn identity_rows(status: &Status) -> Vec<(&'static str, String)> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let certificate = status.certificate_not_after.map_or_else(
        || "-".to_owned(),
        |t| match status.certificate_expired {
            true => format!("EXPIRED at {}", format_time(t)),
            false => format!("valid until {}", format_time(t)),
        },
    );
    let mut rows = vec![("state dir", status.state_dir.display().to_string())];
    if !status.enrolled {
        rows.push((
            "enrolled",
            "no (run `fluidos-agent enroll --hub URL --token TOKEN`)".to_owned(),
        ));
    }
    rows.extend([
        ("node", or_dash(&status.node_name)),
        ("domain", or_dash(&status.domain)),
        ("hub", or_dash(&status.hub_url)),
        ("certificate", certificate),
    ]);
    rows
}

fn outbox_rows(stats: &OutboxStats) -> Vec<(&'static str, String)> {
    let last_sample = match (stats.last_sample_at, &stats.last_sample) {
        (Some(at), Some(sample)) => format!("{} ({})", format_time(at), summary(sample)),
        (Some(at), None) => format_time(at),
        _ => "never".to_owned(),
    };
    let mut rows = vec![
        ("last sample", last_sample),
        (
            "outbox",
            format!("{} reports, {}", stats.rows, bytes(stats.bytes)),
        ),
        ("dropped total", stats.dropped_total.to_string()),
        (
            "last report ok",
            stats
                .last_success_at
                .map_or_else(|| "never".to_owned(), format_time),
        ),
    ];
    if let Some(error) = &stats.last_error {
        rows.push(("last error", error.clone()));
    }
    rows
}

/// One-line summary of a sample.
pub fn summary(s: &ResourceSample) -> String {
    format!(
        "{} cpus at {:.0}%, memory {} of {} available, storage {} of {} available",
        s.cpu.logical_cpus,
        s.cpu.usage_percent,
        bytes(s.memory.available_bytes),
        bytes(s.memory.total_bytes),
        bytes(s.storage.available_bytes),
        bytes(s.storage.capacity_bytes),
    )
}

/// `1536` → `1.5 KiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use fluidos_protocol::node::NodeIdentity;

    use super::*;
    use crate::state::Enrollment;

    #[test]
    fn status_of_an_empty_state_dir_says_not_enrolled() {
        let dir = tempfile::tempdir().unwrap();
        let status = read(dir.path(), OffsetDateTime::now_utc()).unwrap();
        assert!(!status.enrolled);
        assert_eq!(status.outbox, None);
        let table = render_table(&status);
        assert!(table.contains("enrolled        no"));
        assert!(table.contains("last report ok  never"));
    }

    #[test]
    fn status_shows_identity_expiry_and_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let now = OffsetDateTime::now_utc();
        state
            .write_enrollment(&Enrollment {
                hub_url: "https://hub:7443".into(),
                node_name: "pi-1".into(),
                domain: "fluidos.eu".into(),
                hub: NodeIdentity::default(),
                heartbeat_seconds: 10,
                issued_at: now - time::Duration::days(8),
                not_after: now - time::Duration::days(1),
            })
            .unwrap();
        let mut outbox = Outbox::open(&state.path(OUTBOX_FILE), Default::default()).unwrap();
        outbox.push(now, &ResourceSample::default()).unwrap();
        let status = read(dir.path(), now).unwrap();
        assert!(status.certificate_expired);
        assert_eq!(status.outbox.as_ref().map(|o| o.rows), Some(1));
        let table = render_table(&status);
        assert!(table.contains("node            pi-1"), "{table}");
        assert!(table.contains("EXPIRED at"), "{table}");
        assert!(table.contains("outbox          1 reports"), "{table}");
        let json: serde_json::Value = serde_json::to_value(&status).unwrap();
        assert_eq!(json["nodeName"], "pi-1");
        assert_eq!(json["outbox"]["rows"], 1);
    }

    #[test]
    fn byte_counts_are_human_readable() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(16 << 20), "16.0 MiB");
    }
}
