//! Pure summaries of timed runs: percentiles by nearest rank, and a JSON/text form in ms.

use std::time::Duration;

/// p50 / p90 / max (and min) of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Percentiles {
    /// Samples.
    pub(crate) n: usize,
    /// Smallest.
    pub(crate) min: Duration,
    /// Median (nearest rank).
    pub(crate) p50: Duration,
    /// 90th percentile (nearest rank).
    pub(crate) p90: Duration,
    /// Largest.
    pub(crate) max: Duration,
}

impl Percentiles {
    /// Summarise `samples` (`None` when empty).
    pub(crate) fn of(samples: &[Duration]) -> Option<Percentiles> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p of the samples at or below it.
            let index = (p * sorted.len() as f64).ceil() as usize;
            sorted[index.clamp(1, sorted.len()) - 1]
        };
        Some(Percentiles {
            n: sorted.len(),
            min,
            p50: rank(0.5),
            p90: rank(0.9),
            max,
        })
    }

    /// `n=.. min=.. p50=.. p90=.. max=..` in milliseconds.
    pub(crate) fn line(&self) -> String {
        format!(
            "n={} min={:.1}ms p50={:.1}ms p90={:.1}ms max={:.1}ms",
            self.n,
            ms(self.min),
            ms(self.p50),
            ms(self.p90),
            ms(self.max)
        )
    }

    /// The same as JSON (milliseconds).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "n": self.n,
            "minMs": ms(self.min),
            "p50Ms": ms(self.p50),
            "p90Ms": ms(self.p90),
            "maxMs": ms(self.max),
        })
    }
}

/// Milliseconds with fractions.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=20).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(&samples).unwrap();
        assert_eq!(p.n, 20);
        assert_eq!(p.min, Duration::from_millis(1));
        assert_eq!(p.p50, Duration::from_millis(10));
        assert_eq!(p.p90, Duration::from_millis(18));
        assert_eq!(p.max, Duration::from_millis(20));
        assert_eq!(p.line(), "n=20 min=1.0ms p50=10.0ms p90=18.0ms max=20.0ms");
    }

    #[test]
    fn one_sample_and_none() {
        let p = Percentiles::of(&[Duration::from_millis(7)]).unwrap();
        assert_eq!((p.p50, p.p90, p.max), (p.min, p.min, p.min));
        assert_eq!(Percentiles::of(&[]), None);
    }
}
