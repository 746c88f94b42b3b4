//! Protection against a configuration mistake wiping the device table. APNs answers
//! `BadDeviceToken` for *every* token when the sandbox and production environments are mixed
//! up, and FCM answers alike (`SENDER_ID_MISMATCH`) when the project is wrong. A token error is
//! normally a reason to remove the device; but when most sends of the last window fail with the
//! same token error, the fault is ours, so devices are kept while that lasts, and
//! `chorus_push_removals_held{provider}` is 1 for the shipped alert `ChorusPushRemovalsHeld`.

use std::collections::{HashMap, VecDeque};
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
    window_state: Mutex<Window>,
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
        Self { provider, window, min_errors, window_state: Mutex::default(), held, removed }
    }

    /// Notes one send, with the token error the provider gave, if any.
    pub fn observe(&self, token_error: Option<&str>) {
        let mut window = self.window_state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        window.push(Instant::now(), token_error, self.window);
        let held = window.holds(self.min_errors);
        drop(window);
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
}

/// The sends of one window, with a running count per token error, so each send costs the same
/// however many the window holds.
#[derive(Default)]
struct Window {
    /// Each send: when, and its token error if it had one.
    sends: VecDeque<(Instant, Option<String>)>,
    errors: HashMap<String, u32>,
}

impl Window {
    fn push(&mut self, now: Instant, token_error: Option<&str>, span: Duration) {
        if let Some(error) = token_error {
            *self.errors.entry(error.to_owned()).or_default() += 1;
        }
        self.sends.push_back((now, token_error.map(str::to_owned)));
        while let Some((at, error)) = self.sends.front() {
            if now.duration_since(*at) <= span {
                break;
            }
            if let Some(count) = error.as_ref().and_then(|error| self.errors.get_mut(error)) {
                *count -= 1;
            }
            self.sends.pop_front();
        }
        self.errors.retain(|_, count| *count > 0);
    }

    /// At least `min_errors` sends failed with one token error, and they are most of the window.
    fn holds(&self, min_errors: u32) -> bool {
        let most = self.errors.values().copied().max().unwrap_or(0);
        most >= min_errors && u64::from(most) * 2 > self.sends.len() as u64
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
