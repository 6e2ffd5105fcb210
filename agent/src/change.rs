//! When to report: pure change detection between the last reported sample and a new one.
//!
//! A report is due on the first sample, when a measured value moved beyond a threshold
//! ([`Thresholds`]), when anything offered or descriptive changed (offered resources, labels,
//! location, GPUs, architecture, host name), and otherwise once per heartbeat. No IO, no clock:
//! the caller passes the elapsed time.

use std::time::Duration;

use fluidos_protocol::agent::ResourceSample;

/// How far measured values may move before a report is sent early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Global CPU usage, percentage points.
    pub cpu_percent_points: f32,
    /// Available memory, relative change (0.05 = 5 %).
    pub memory_ratio: f64,
    /// Available root-filesystem space, relative change.
    pub storage_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu_percent_points: 10.0,
            memory_ratio: 0.05,
            storage_ratio: 0.05,
        }
    }
}

/// Why a report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing reported yet by this process.
    First,
    /// The heartbeat interval elapsed.
    Heartbeat,
    /// CPU usage moved beyond its threshold.
    Cpu,
    /// Available memory moved beyond its threshold.
    Memory,
    /// Available storage moved beyond its threshold.
    Storage,
    /// The offered resources changed.
    Offered,
    /// Labels changed.
    Labels,
    /// Location changed.
    Location,
    /// GPUs changed.
    Gpus,
    /// Architecture changed.
    Architecture,
    /// Host name changed.
    Hostname,
}

impl Reason {
    /// A short label for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Heartbeat => "heartbeat",
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Storage => "storage",
            Self::Offered => "offered",
            Self::Labels => "labels",
            Self::Location => "location",
            Self::Gpus => "gpus",
            Self::Architecture => "architecture",
            Self::Hostname => "hostname",
        }
    }
}

/// Whether to report `current`, given the last reported sample and the time since that report.
pub fn report_reason(
    last: Option<&ResourceSample>,
    current: &ResourceSample,
    since_last: Duration,
    heartbeat: Duration,
    thresholds: &Thresholds,
) -> Option<Reason> {
    let Some(last) = last else {
        return Some(Reason::First);
    };
    change(last, current, thresholds)
        .or_else(|| (since_last >= heartbeat).then_some(Reason::Heartbeat))
}

/// The first significant difference between two samples, if any.
pub fn change(prev: &ResourceSample, cur: &ResourceSample, t: &Thresholds) -> Option<Reason> {
    let checks = [
        (prev.architecture != cur.architecture, Reason::Architecture),
        (prev.offered != cur.offered, Reason::Offered),
        (prev.gpus != cur.gpus, Reason::Gpus),
        (prev.labels != cur.labels, Reason::Labels),
        (prev.location != cur.location, Reason::Location),
        (prev.hostname != cur.hostname, Reason::Hostname),
        (
            (cur.cpu.usage_percent - prev.cpu.usage_percent).abs() >= t.cpu_percent_points,
            Reason::Cpu,
        ),
        (
            moved(
                prev.memory.available_bytes,
                cur.memory.available_bytes,
                t.memory_ratio,
            ),
            Reason::Memory,
        ),
        (
            moved(
                prev.storage.available_bytes,
                cur.storage.available_bytes,
                t.storage_ratio,
            ),
            Reason::Storage,
        ),
    ];
    checks
        .into_iter()
        .find_map(|(changed, reason)| changed.then_some(reason))
}

/// Whether `cur` differs from `prev` by at least `ratio` of `prev` (any change from zero counts).
fn moved(prev: u64, cur: u64, ratio: f64) -> bool {
    if prev == cur {
        return false;
    }
    if prev == 0 {
        return true;
    }
    // u64 → f64 loses precision above 2⁵³ bytes, irrelevant for a ratio test.
    #[allow(clippy::cast_precision_loss, reason = "ratio of byte counts")]
    let relative = prev.abs_diff(cur) as f64 / prev as f64;
    relative >= ratio
}

#[cfg(test)]
mod tests {
    use fluidos_protocol::agent::GpuSample;

    use super::*;

    const HB: Duration = Duration::from_secs(10);

    fn sample() -> ResourceSample {
        let mut s = ResourceSample::default();
        s.cpu.usage_percent = 20.0;
        s.memory.available_bytes = 1_000_000;
        s.storage.available_bytes = 2_000_000;
        s
    }

    fn reason(prev: &ResourceSample, cur: &ResourceSample, since: Duration) -> Option<Reason> {
        report_reason(Some(prev), cur, since, HB, &Thresholds::default())
    }

    #[test]
    fn first_sample_is_always_reported() {
        assert_eq!(
            report_reason(None, &sample(), Duration::ZERO, HB, &Thresholds::default()),
            Some(Reason::First)
        );
    }

    #[test]
    fn small_moves_wait_for_the_heartbeat() {
        let prev = sample();
        let mut cur = sample();
        cur.cpu.usage_percent = 29.0;
        cur.memory.available_bytes = 960_000;
        cur.storage.available_bytes = 2_050_000;
        assert_eq!(reason(&prev, &cur, Duration::from_secs(9)), None);
        assert_eq!(reason(&prev, &cur, HB), Some(Reason::Heartbeat));
    }

    #[test]
    fn moves_beyond_thresholds_are_reported_at_once() {
        let prev = sample();
        let mut cur = sample();
        cur.cpu.usage_percent = 9.5;
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Cpu));
        let mut cur = sample();
        cur.memory.available_bytes = 949_000;
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Memory));
        let mut cur = sample();
        cur.storage.available_bytes = 2_100_000;
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Storage));
    }

    #[test]
    fn any_change_of_offer_or_description_is_reported() {
        let prev = sample();
        let mut cur = sample();
        cur.offered.cpu_millis = 1;
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Offered));
        let mut cur = sample();
        cur.labels.insert("a".into(), "b".into());
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Labels));
        let mut cur = sample();
        cur.location = Some(Default::default());
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Location));
        let mut cur = sample();
        cur.gpus.push(GpuSample {
            vendor: "nvidia".into(),
            ..Default::default()
        });
        assert_eq!(reason(&prev, &cur, Duration::ZERO), Some(Reason::Gpus));
        let mut cur = sample();
        cur.architecture = "arm64".into();
        assert_eq!(
            reason(&prev, &cur, Duration::ZERO),
            Some(Reason::Architecture)
        );
    }

    #[test]
    fn relative_change_handles_zero_and_equal_values() {
        assert!(!moved(0, 0, 0.05));
        assert!(moved(0, 1, 0.05));
        assert!(moved(100, 0, 0.05));
        assert!(!moved(100, 104, 0.05));
        assert!(moved(100, 105, 0.05));
        assert!(!moved(u64::MAX, u64::MAX - 1, 0.05));
    }
}
