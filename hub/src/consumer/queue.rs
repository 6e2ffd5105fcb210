//! The consumer's work queue, pure: which object to reconcile next and when. A key is queued
//! at most once (the earliest due time wins), never handed out while its reconcile runs, and
//! retried with a per-key exponential backoff after errors.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::Next;

/// First retry delay after an error.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest retry delay after repeated errors.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The kinds the consumer reconciles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A Solver.
    Solver,
    /// A Discovery.
    Discovery,
    /// A Reservation.
    Reservation,
}

/// One object to reconcile: its kind and name (in the consumer's namespace).
pub type Key = (Kind, String);

/// Pending keys with due times, running keys, and error counts.
#[derive(Debug, Default)]
pub struct WorkQueue {
    due: BTreeMap<Key, Instant>,
    running: BTreeSet<Key>,
    failures: BTreeMap<Key, u32>,
}

impl WorkQueue {
    /// Queue `key` at `at` (an earlier due time already queued wins).
    pub fn add(&mut self, key: Key, at: Instant) {
        let slot = self.due.entry(key).or_insert(at);
        *slot = (*slot).min(at);
    }

    /// The earliest due key at `now` that is not running; it is now running.
    pub fn pop_ready(&mut self, now: Instant) -> Option<Key> {
        let key = self
            .due
            .iter()
            .filter(|(k, at)| **at <= now && !self.running.contains(*k))
            .min_by_key(|(_, at)| **at)
            .map(|(k, _)| k.clone())?;
        self.due.remove(&key);
        self.running.insert(key.clone());
        Some(key)
    }

    /// When the next queued key that is not running is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.due
            .iter()
            .filter(|(k, _)| !self.running.contains(*k))
            .map(|(_, at)| *at)
            .min()
    }

    /// The reconcile of `key` ended: requeue as it asked, or with backoff after an error.
    /// Returns the retry delay after an error.
    pub fn finish(
        &mut self,
        key: Key,
        outcome: Result<Next, ()>,
        now: Instant,
    ) -> Option<Duration> {
        self.running.remove(&key);
        match outcome {
            Ok(next) => {
                self.failures.remove(&key);
                if let Next::After(wait) = next {
                    self.add(key, now + wait);
                }
                None
            }
            Err(()) => {
                let failures = self.failures.entry(key.clone()).or_insert(0);
                *failures = failures.saturating_add(1);
                let delay = backoff(*failures);
                self.add(key, now + delay);
                Some(delay)
            }
        }
    }

    /// Keys queued or running.
    pub fn len(&self) -> usize {
        self.due.len() + self.running.len()
    }

    /// Whether nothing is queued or running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The delay before retry number `failures` (1-based): doubling from [`BACKOFF_BASE`] up to
/// [`BACKOFF_MAX`].
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_BASE
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        (Kind::Solver, name.to_owned())
    }

    #[test]
    fn a_key_is_queued_once_at_its_earliest_time() {
        let t0 = Instant::now();
        let mut q = WorkQueue::default();
        q.add(key("a"), t0 + Duration::from_secs(5));
        q.add(key("a"), t0 + Duration::from_secs(1));
        q.add(key("a"), t0 + Duration::from_secs(9));
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.pop_ready(t0), None, "not due yet");
        assert_eq!(q.pop_ready(t0 + Duration::from_secs(1)), Some(key("a")));
    }

    #[test]
    fn a_running_key_is_not_handed_out_twice() {
        let t0 = Instant::now();
        let mut q = WorkQueue::default();
        q.add(key("a"), t0);
        assert_eq!(q.pop_ready(t0), Some(key("a")));
        q.add(key("a"), t0);
        assert_eq!(q.pop_ready(t0), None, "still running");
        assert_eq!(q.next_due(), None);
        q.finish(key("a"), Ok(Next::Done), t0);
        assert_eq!(
            q.pop_ready(t0),
            Some(key("a")),
            "the event during the run is kept"
        );
    }

    #[test]
    fn errors_back_off_and_success_resets() {
        let t0 = Instant::now();
        let mut q = WorkQueue::default();
        for expected in [500, 1000, 2000] {
            q.add(key("a"), t0);
            let k = q.pop_ready(t0).unwrap();
            assert_eq!(
                q.finish(k, Err(()), t0),
                Some(Duration::from_millis(expected))
            );
            q.due.clear();
        }
        q.add(key("a"), t0);
        let k = q.pop_ready(t0).unwrap();
        q.finish(k, Ok(Next::After(Duration::from_secs(3))), t0);
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(3)));
        assert!(q.failures.is_empty());
        assert_eq!(backoff(40), BACKOFF_MAX);
    }
}
