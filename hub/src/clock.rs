//! Time for the REAR provider and consumer: Unix seconds in the pure code, RFC 3339 strings (second
//! precision, as upstream writes them) in the objects, and the phase bookkeeping that stamps
//! them. No IO besides reading the wall clock in [`now`].

use std::time::Duration;

use fluidos_protocol::phase::{Phase, PhaseStatus};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The wall clock in Unix seconds.
pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `unix` as RFC 3339 (`2025-05-18T10:00:00Z`); empty when out of range.
pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An RFC 3339 time as Unix seconds; `None` when empty or malformed.
pub(crate) fn parse(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// `now + d` in Unix seconds (saturating).
pub(crate) fn after(now: i64, d: Duration) -> i64 {
    now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// How long from `now` until `deadline` (zero when passed).
pub(crate) fn until(now: i64, deadline: i64) -> Duration {
    Duration::from_secs(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
}

/// A new status in `phase` with `message`, stamped at `now` (see [`set_phase`]).
pub(crate) fn new_phase(phase: Phase, message: &str, now: i64) -> PhaseStatus {
    let mut status = PhaseStatus::default();
    set_phase(&mut status, phase, message, now);
    status
}

/// Set `phase` and `message`; `lastChangeTime` moves only when one of them changes (so a
/// rewrite of the same state is a no-op), `startTime` is set once, `endTime` on terminal
/// phases.
pub(crate) fn set_phase(status: &mut PhaseStatus, phase: Phase, message: &str, now: i64) {
    if status.phase == phase && status.message == message {
        return;
    }
    let stamp = rfc3339(now);
    if status.start_time.is_empty() {
        status.start_time.clone_from(&stamp);
    }
    if phase.is_terminal() {
        status.end_time.clone_from(&stamp);
    }
    status.phase = phase;
    message.clone_into(&mut status.message);
    status.last_change_time = stamp;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_at_second_precision() {
        let t = 1_747_562_400;
        assert_eq!(rfc3339(t), "2025-05-18T10:00:00Z");
        assert_eq!(parse(&rfc3339(t)), Some(t));
        assert_eq!(parse(""), None);
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn set_phase_only_stamps_changes() {
        let mut s = PhaseStatus::default();
        set_phase(&mut s, Phase::Running, "a", 100);
        assert_eq!(s.start_time, rfc3339(100));
        assert_eq!(s.last_change_time, rfc3339(100));
        set_phase(&mut s, Phase::Running, "a", 200);
        assert_eq!(s.last_change_time, rfc3339(100), "same state: no bump");
        set_phase(&mut s, Phase::Solved, "done", 300);
        assert_eq!(s.start_time, rfc3339(100));
        assert_eq!(s.end_time, rfc3339(300));
        assert_eq!(until(10, 5), Duration::ZERO);
        assert_eq!(until(5, 10), Duration::from_secs(5));
    }
}
