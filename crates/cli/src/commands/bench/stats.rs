//! Latency samples and their percentiles.

use std::time::Duration;

/// Latency samples, sorted once when a percentile is asked for.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples {
    ms: Vec<f64>,
    sorted: bool,
}

impl Samples {
    pub(crate) fn push(&mut self, latency: Duration) {
        self.ms.push(latency.as_secs_f64() * 1000.0);
        self.sorted = false;
    }

    pub(crate) fn len(&self) -> usize {
        self.ms.len()
    }

    /// The nearest-rank percentile (`p` in 0..=100) in milliseconds: the smallest sample
    /// that at least `p` percent of the samples do not exceed. `None` without samples.
    pub(crate) fn percentile_ms(&mut self, p: f64) -> Option<f64> {
        if self.ms.is_empty() {
            return None;
        }
        if !self.sorted {
            self.ms.sort_by(f64::total_cmp);
            self.sorted = true;
        }
        let n = self.ms.len();
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
        Some(self.ms[rank.clamp(1, n) - 1])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn of(ms: &[u64]) -> Samples {
        let mut s = Samples::default();
        for &m in ms {
            s.push(Duration::from_millis(m));
        }
        s
    }

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=100 ms in shuffled order.
        let mut values: Vec<u64> = (1..=100).collect();
        values.reverse();
        values.swap(3, 70);
        let mut s = of(&values);
        assert_eq!(s.percentile_ms(50.0), Some(50.0));
        assert_eq!(s.percentile_ms(99.0), Some(99.0));
        assert_eq!(s.percentile_ms(100.0), Some(100.0));
        assert_eq!(s.percentile_ms(0.0), Some(1.0));
    }

    #[test]
    fn a_high_percentile_of_few_samples_is_the_largest() {
        let mut s = of(&[5, 1, 9]);
        assert_eq!(s.percentile_ms(99.0), Some(9.0));
        assert_eq!(s.percentile_ms(50.0), Some(5.0));
        // Asking again after more samples sorts again.
        s.push(Duration::from_millis(20));
        assert_eq!(s.percentile_ms(99.0), Some(20.0));
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn no_samples_no_percentile() {
        assert_eq!(Samples::default().percentile_ms(50.0), None);
    }
}
