//! Latency samples and their order statistics.

use std::time::Duration;

/// Durations of repeated requests.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Latencies {
        samples.sort();
        Latencies { samples }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `q`-quantile (nearest rank), in seconds.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1].as_secs_f64()
    }

    /// Median in seconds; the mean of the middle two for an even count.
    pub fn median(&self) -> f64 {
        let n = self.samples.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => self.samples[n / 2].as_secs_f64(),
            _ => (self.samples[n / 2 - 1] + self.samples[n / 2]).as_secs_f64() / 2.0,
        }
    }

    pub fn p95(&self) -> f64 {
        self.quantile(0.95)
    }
}

/// A small deterministic generator for picking instances and query values.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p95_of_twenty() {
        let l = Latencies::new((1..=20).rev().map(Duration::from_millis).collect());
        assert!((l.median() - 0.0105).abs() < 1e-9);
        assert!((l.p95() - 0.019).abs() < 1e-9);
    }
}
