//! Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
//! Jitter"): the n-th retry waits a uniformly random time in `[0, min(cap, base × 2ⁿ)]`.
//!
//! The arithmetic is a pure function ([`full_jitter`]) so its bounds are unit-tested; the
//! [`Backoff`] state machine only adds the attempt counter and the random draw.

use std::time::Duration;

/// First retry ceiling.
pub const BASE: Duration = Duration::from_millis(500);
/// Largest wait.
pub const CAP: Duration = Duration::from_secs(60);

/// The ceiling of attempt `attempt` (0-based): `min(cap, base × 2^attempt)`, without overflow.
pub fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// The wait of attempt `attempt` for a uniform draw `unit` in `[0, 1]` (clamped).
pub fn full_jitter(base: Duration, cap: Duration, attempt: u32, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling(base, cap, attempt).mul_f64(unit)
}

/// Retry delays for one kind of operation; [`Backoff::reset`] after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(BASE, CAP)
    }
}

impl Backoff {
    /// A backoff between `base` and `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The next delay (random), advancing the attempt counter.
    pub fn next_delay(&mut self) -> Duration {
        let delay = full_jitter(self.base, self.cap, self.attempt, rand::random::<f64>());
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// Failures since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Start over after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_from_base_up_to_cap() {
        assert_eq!(ceiling(BASE, CAP, 0), Duration::from_millis(500));
        assert_eq!(ceiling(BASE, CAP, 1), Duration::from_secs(1));
        assert_eq!(ceiling(BASE, CAP, 6), Duration::from_secs(32));
        assert_eq!(ceiling(BASE, CAP, 7), CAP);
        assert_eq!(ceiling(BASE, CAP, 40), CAP);
        assert_eq!(ceiling(BASE, CAP, u32::MAX), CAP);
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_ceiling() {
        for attempt in [0, 1, 5, 10, 100] {
            assert_eq!(full_jitter(BASE, CAP, attempt, 0.0), Duration::ZERO);
            assert_eq!(
                full_jitter(BASE, CAP, attempt, 1.0),
                ceiling(BASE, CAP, attempt)
            );
            assert_eq!(
                full_jitter(BASE, CAP, attempt, 7.0),
                ceiling(BASE, CAP, attempt)
            );
            assert_eq!(full_jitter(BASE, CAP, attempt, f64::NAN), Duration::ZERO);
        }
        assert_eq!(full_jitter(BASE, CAP, 1, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn backoff_draws_are_bounded_and_reset_starts_over() {
        let mut b = Backoff::default();
        for attempt in 0..20 {
            assert!(b.next_delay() <= ceiling(BASE, CAP, attempt));
        }
        assert_eq!(b.attempts(), 20);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert!(b.next_delay() <= BASE);
    }
}
