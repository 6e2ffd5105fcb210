//! Which nodes are waiting for a reconcile, and from when: the debounce that coalesces bursts
//! of watch events (and the delayed retry of failed reconciles). No IO; the caller passes the
//! time.

use std::collections::HashMap;

use tokio::time::Instant;

/// Nodes and the instant each becomes due.
#[derive(Debug, Default)]
pub(super) struct Pending {
    due: HashMap<String, Instant>,
}

impl Pending {
    /// Reconcile `node` at `due`, or earlier if it is already due earlier.
    pub(super) fn mark(&mut self, node: String, due: Instant) {
        self.due
            .entry(node)
            .and_modify(|at| *at = (*at).min(due))
            .or_insert(due);
    }

    /// The earliest due instant.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    /// Remove and return (sorted) every node due at `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut ready: Vec<String> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(node, _)| node.clone())
            .collect();
        for node in &ready {
            self.due.remove(node);
        }
        ready.sort();
        ready
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_of_marks_coalesces_to_the_first_due_instant() {
        let t0 = Instant::now();
        let mut pending = Pending::default();
        pending.mark("a".into(), t0 + Duration::from_millis(200));
        pending.mark("a".into(), t0 + Duration::from_millis(300));
        pending.mark("b".into(), t0 + Duration::from_millis(250));
        assert_eq!(pending.next_due(), Some(t0 + Duration::from_millis(200)));
        assert_eq!(
            pending.take_due(t0 + Duration::from_millis(100)),
            Vec::<String>::new()
        );
        assert_eq!(pending.take_due(t0 + Duration::from_millis(200)), vec!["a"]);
        assert_eq!(pending.next_due(), Some(t0 + Duration::from_millis(250)));
        assert_eq!(pending.take_due(t0 + Duration::from_secs(1)), vec!["b"]);
        assert_eq!(pending.next_due(), None);
    }

    #[test]
    fn an_earlier_mark_moves_a_later_retry_forward() {
        let t0 = Instant::now();
        let mut pending = Pending::default();
        pending.mark("a".into(), t0 + Duration::from_secs(5));
        pending.mark("a".into(), t0 + Duration::from_millis(200));
        assert_eq!(pending.next_due(), Some(t0 + Duration::from_millis(200)));
    }
}
