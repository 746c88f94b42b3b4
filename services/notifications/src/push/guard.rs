//! Protection against a configuration mistake wiping the device table. APNs answers
//! `BadDeviceToken` for *every* token when the sandbox and production environments are mixed
//! up, and FCM answers alike (`SENDER_ID_MISMATCH`) when the project is wrong. A token error is
//! normally a reason to remove the device; but when most sends of the last window fail with the
//! same token error, the fault is ours, so devices are kept while that lasts, and
//! `chorus_push_removals_held{provider}` is 1 for the shipped alert `ChorusPushRemovalsHeld`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chorus_kit::metrics::Metrics;

use crate::domain::model::PushProvider;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// One provider's recent sends, and whether removals are held.
pub struct RemovalGuard {
    provider: &'static str,
    window: Duration,
    min_errors: u32,
    /// Each send of the window: when, and its token error if it had one.
    sends: Mutex<VecDeque<(Instant, Option<String>)>>,
    held: IntGaugeVec,
    removed: IntCounterVec,
}

impl RemovalGuard {
    /// A guard over `window` that holds removals once at least `min_errors` sends of the window
    /// failed with one token error, and they are more than half of its sends.
    pub fn new(provider: &'static str, window: Duration, min_errors: u32, metrics: &GuardMetrics) -> Self {
        let GuardMetrics { held, removed } = metrics.clone();
        held.with_label_values(&[provider]).set(0);
        removed.with_label_values(&[provider]);
        Self { provider, window, min_errors, sends: Mutex::new(VecDeque::new()), held, removed }
    }

    /// Notes one send, with the token error the provider gave, if any.
    pub fn observe(&self, token_error: Option<&str>) {
        let now = Instant::now();
        let mut sends = self.sends.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sends.push_back((now, token_error.map(str::to_owned)));
        while sends.front().is_some_and(|(at, _)| now.duration_since(*at) > self.window) {
            sends.pop_front();
        }
        let held = Self::judge(&sends, self.min_errors);
        drop(sends);
        let gauge = self.held.with_label_values(&[self.provider]);
        if held && gauge.get() == 0 {
            tracing::error!(
                provider = self.provider,
                "most recent pushes fail with the same token error; devices are kept until this passes. \
                 Check the provider's credentials, project and environment"
            );
        }
        gauge.set(i64::from(held));
    }

    /// Whether removals are held now.
    pub fn holds_removals(&self) -> bool {
        self.held.with_label_values(&[self.provider]).get() == 1
    }

    /// Counts a device removed because the provider reported it gone.
    pub fn count_removal(&self) {
        self.removed.with_label_values(&[self.provider]).inc();
    }

    fn judge(sends: &VecDeque<(Instant, Option<String>)>, min_errors: u32) -> bool {
        let mut counts: Vec<(&str, u32)> = Vec::new();
        for error in sends.iter().filter_map(|(_, error)| error.as_deref()) {
            match counts.iter_mut().find(|(seen, _)| *seen == error) {
                Some((_, count)) => *count += 1,
                None => counts.push((error, 1)),
            }
        }
        let most = counts.iter().map(|(_, count)| *count).max().unwrap_or(0);
        most >= min_errors && u64::from(most) * 2 > sends.len() as u64
    }
}

/// The guards' metrics, registered once per service and shared by every provider's guard.
#[derive(Clone)]
pub struct GuardMetrics {
    held: IntGaugeVec,
    removed: IntCounterVec,
}

impl GuardMetrics {
    /// Registers the metrics, every provider's series at 0 from the start (a channel that is
    /// off holds nothing), so dashboards and alerts see them at once.
    pub fn register(metrics: &Metrics) -> Self {
        let held = metrics.register(
            IntGaugeVec::new(
                Opts::new("push_removals_held", "1 while a provider's token errors point at a configuration mistake"),
                &["provider"],
            )
            .expect("valid metric"),
        );
        let removed = metrics.register(
            IntCounterVec::new(
                Opts::new("push_devices_removed_total", "Devices removed because their provider reported them gone"),
                &["provider"],
            )
            .expect("valid metric"),
        );
        for provider in PushProvider::ALL.map(PushProvider::as_str) {
            held.with_label_values(&[provider]).set(0);
            removed.with_label_values(&[provider]);
        }
        Self { held, removed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_are_held_while_one_token_error_dominates() {
        let metrics = Metrics::new("notifications");
        let shared = GuardMetrics::register(&metrics);
        let guard = RemovalGuard::new("apns", Duration::from_secs(60), 5, &shared);
        // A few gone devices among good sends: removals go on.
        for _ in 0..20 {
            guard.observe(None);
        }
        for _ in 0..4 {
            guard.observe(Some("Unregistered"));
            assert!(!guard.holds_removals());
        }
        // Every token rejected alike: held once that error is most of the window.
        for _ in 0..19 {
            guard.observe(Some("BadDeviceToken"));
        }
        assert!(!guard.holds_removals(), "19 of 43 is not most");
        for _ in 0..6 {
            guard.observe(Some("BadDeviceToken"));
        }
        assert!(guard.holds_removals());
        assert!(
            metrics.gather_text().contains("chorus_push_removals_held{provider=\"apns\",service=\"notifications\"} 1")
        );
        // A second guard on the same registry shares the metrics.
        let other = RemovalGuard::new("fcm", Duration::from_secs(60), 5, &shared);
        assert!(!other.holds_removals());
    }

    #[test]
    fn the_window_forgets_old_sends() {
        let metrics = GuardMetrics::register(&Metrics::new("notifications"));
        let guard = RemovalGuard::new("fcm", Duration::from_millis(50), 2, &metrics);
        for _ in 0..3 {
            guard.observe(Some("UNREGISTERED"));
        }
        assert!(guard.holds_removals());
        std::thread::sleep(Duration::from_millis(80));
        guard.observe(None);
        assert!(!guard.holds_removals());
    }
}
