//! Prometheus metrics, one registry per service (the launcher runs several in one process):
//! request rate, errors and latency per operation id, database pool use, feed lag and dead
//! deliveries.

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::HashMap;

use crate::db::Db;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    feed_lag: IntGaugeVec,
    feed_position: IntGaugeVec,
    feed_errors: IntCounterVec,
    feed_skipped: IntCounterVec,
    feed_malformed: IntCounterVec,
    deliveries_dead: IntCounterVec,
    deliveries: IntCounterVec,
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        let labels = HashMap::from([("service".to_owned(), service.to_owned())]);
        let registry = Registry::new_custom(Some("chorus".into()), Some(labels)).expect("a valid registry");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by operation id and status"),
            &["operation", "status"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by operation id")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["operation"],
        )
        .expect("valid metric");
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections").expect("valid");
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections").expect("valid");
        let pool_max = IntGauge::new("db_pool_max_connections", "Database pool size").expect("valid");
        let feed_lag =
            IntGaugeVec::new(Opts::new("feed_lag_events", "Events a feed follower has yet to apply"), &["feed"])
                .expect("valid metric");
        let feed_position =
            IntGaugeVec::new(Opts::new("feed_position", "The last event id a feed follower applied"), &["feed"])
                .expect("valid metric");
        let feed_errors = IntCounterVec::new(
            Opts::new("feed_errors_total", "Failed attempts of a feed follower (fetch or apply)"),
            &["feed"],
        )
        .expect("valid metric");
        let feed_skipped = IntCounterVec::new(
            Opts::new("feed_skipped_events_total", "Events of a type the consumer does not know, skipped on purpose"),
            &["feed", "type"],
        )
        .expect("valid metric");
        let feed_malformed = IntCounterVec::new(
            Opts::new(
                "feed_malformed_events_total",
                "Times a follower stopped before an event of a known type that does not parse",
            ),
            &["feed"],
        )
        .expect("valid metric");
        let deliveries_dead = IntCounterVec::new(
            Opts::new(
                "deliveries_dead_total",
                "Deliveries to customers' endpoints and devices (webhooks, alert hooks, broadcasts, pushes) given up on",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let deliveries = IntCounterVec::new(
            Opts::new(
                "deliveries_total",
                "Attempts to deliver to customers' endpoints and devices, by kind and outcome (delivered, retried, dead, gone)",
            ),
            &["kind", "outcome"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
            Box::new(feed_lag.clone()),
            Box::new(feed_position.clone()),
            Box::new(feed_errors.clone()),
            Box::new(feed_skipped.clone()),
            Box::new(feed_malformed.clone()),
            Box::new(deliveries_dead.clone()),
            Box::new(deliveries.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self {
            registry,
            requests,
            duration,
            pool_connections,
            pool_idle,
            pool_max,
            feed_lag,
            feed_position,
            feed_errors,
            feed_skipped,
            feed_malformed,
            deliveries_dead,
            deliveries,
        }
    }

    pub fn observe_request(&self, operation: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[operation, &status.to_string()]).inc();
        self.duration.with_label_values(&[operation]).observe(seconds);
    }

    pub fn set_feed_lag(&self, feed: &str, lag: i64) {
        self.feed_lag.with_label_values(&[feed]).set(lag);
    }

    pub fn set_feed_position(&self, feed: &str, last_applied: i64) {
        self.feed_position.with_label_values(&[feed]).set(last_applied);
    }

    pub fn count_feed_error(&self, feed: &str) {
        self.feed_errors.with_label_values(&[feed]).inc();
    }

    pub fn count_feed_skipped(&self, feed: &str, event_type: &str) {
        self.feed_skipped.with_label_values(&[feed, event_type]).inc();
    }

    pub fn count_feed_malformed(&self, feed: &str) {
        self.feed_malformed.with_label_values(&[feed]).inc();
    }

    /// The outcomes a delivery attempt can have.
    /// `gone`: the target no longer exists (a push device), so the delivery ended without fault.
    pub const DELIVERY_OUTCOMES: [&str; 4] = ["delivered", "retried", "dead", "gone"];

    /// Counts one delivery attempt's outcome (one of [`Self::DELIVERY_OUTCOMES`]).
    pub fn count_delivery(&self, kind: &str, outcome: &str) {
        self.deliveries.with_label_values(&[kind, outcome]).inc();
        if outcome == "dead" {
            self.deliveries_dead.with_label_values(&[kind]).inc();
        }
    }

    /// Makes a dispatcher's series exist at 0 from its start, so dashboards and alerts see them
    /// before the first attempt.
    pub fn register_delivery_kind(&self, kind: &str) {
        for outcome in Self::DELIVERY_OUTCOMES {
            self.deliveries.with_label_values(&[kind, outcome]);
        }
        self.deliveries_dead.with_label_values(&[kind]);
    }

    /// Registers a service's own metric (named `chorus_…` and labelled with the service, like
    /// the rest) and answers it. A name registered twice is a programming error.
    pub fn register<C: prometheus::core::Collector + Clone + 'static>(&self, collector: C) -> C {
        self.registry.register(Box::new(collector.clone())).expect("metric names are unique");
        collector
    }

    /// Makes a follower's counters exist at 0 from its start.
    pub fn register_feed(&self, feed: &str) {
        self.feed_errors.with_label_values(&[feed]);
        self.feed_malformed.with_label_values(&[feed]);
        self.feed_lag.with_label_values(&[feed]);
        self.feed_position.with_label_values(&[feed]);
    }

    fn render(&self, db: &Db) -> String {
        let pool = db.pool_state();
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        self.gather_text()
    }

    /// Every metric in the Prometheus text format, as `/metrics` serves it.
    pub fn gather_text(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}

pub async fn metrics_endpoint(metrics: web::Data<Metrics>, db: web::Data<Db>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(metrics.render(&db))
}
