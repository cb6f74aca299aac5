//! Exponential backoff with jitter, for retrying a failing sink or server without
//! hammering it, and without every consumer retrying in lockstep.

use std::time::Duration;

use rand::Rng;

/// How retries are spaced: `initial`, doubling up to `max`, each delay drawn at random
/// from its upper half ("equal jitter"), so it never collapses to zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.min(30)))
            .min(self.max);
        let half = ceiling / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_and_stays_in_the_upper_half() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(8),
        };
        for (attempt, ceiling) in [(0, 1), (1, 2), (2, 4), (3, 8), (4, 8), (40, 8)] {
            for _ in 0..50 {
                let d = b.delay(attempt);
                let ceiling = Duration::from_secs(ceiling);
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
            }
        }
    }
}
