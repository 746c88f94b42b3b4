//! Latency and throughput of one measured run.

use std::time::Duration;

pub struct Stats {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
}

impl Stats {
    pub fn new(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        Self { ok: latencies.len(), errors, elapsed, latencies }
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at quantile `q` (0.5 for the median), in milliseconds.
    pub fn millis(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.throughput(),
            self.millis(0.5),
            self.millis(0.99),
            self.millis(0.999),
            self.errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_sample() {
        let latencies = (1..=1000).map(Duration::from_millis).collect();
        let stats = Stats::new(latencies, 0, Duration::from_secs(2));
        assert_eq!(stats.millis(0.5), 500.0);
        assert_eq!(stats.millis(0.99), 990.0);
        assert_eq!(stats.millis(0.999), 999.0);
        assert_eq!(stats.throughput(), 500.0);
    }
}
