//! Latency and throughput of one measured run. Latencies go into an HDR histogram (microseconds,
//! three significant figures), so a quantile costs nothing however many requests a run makes.

use hdrhistogram::Histogram;
use std::time::Duration;

pub struct Stats {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Latencies of the successful requests, in microseconds.
    latencies: Histogram<u64>,
}

/// The longest latency the histogram holds exactly; longer ones are clamped to it.
const MAX_MICROS: u64 = 600_000_000;

impl Stats {
    pub fn new(latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        let mut histogram = Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        for latency in &latencies {
            histogram.saturating_record((latency.as_micros() as u64).clamp(1, MAX_MICROS));
        }
        Self { ok: latencies.len(), errors, elapsed, latencies: histogram }
    }

    /// Adds a later slice of the same run: its requests, errors, time and latencies.
    pub fn merge(&mut self, slice: &Stats) {
        self.ok += slice.ok;
        self.errors += slice.errors;
        self.elapsed += slice.elapsed;
        self.latencies.add(&slice.latencies).expect("histograms of the same bounds");
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at quantile `q` (0.5 for the median), in milliseconds; NaN without samples.
    pub fn millis(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.value_at_quantile(q) as f64 / 1000.0
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
        // Three significant figures: within 0.1% of the exact sample.
        for (q, exact) in [(0.5, 500.0), (0.99, 990.0), (0.999, 999.0)] {
            let measured = stats.millis(q);
            assert!((measured - exact).abs() <= exact * 0.001, "q{q}: {measured} vs {exact}");
        }
        assert_eq!(stats.throughput(), 500.0);
        assert!(Stats::new(Vec::new(), 3, Duration::from_secs(1)).millis(0.5).is_nan());
    }
}
