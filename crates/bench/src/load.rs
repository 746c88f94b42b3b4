//! The two ways load is applied: at saturation (closed loop, a fixed number of workers), and at a
//! fixed rate (open loop, latency measured from each request's intended start, so a stalled
//! server is charged for the requests it delayed: no coordinated omission).

use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use crate::stats::Stats;

/// One request of a workload; `n` numbers the request. True when it succeeded.
pub type Op = Arc<dyn Fn(usize) -> BoxFuture<'static, bool> + Send + Sync>;

/// A bound on requests in flight in open-loop mode, so a collapsing server cannot exhaust memory.
const MAX_IN_FLIGHT: usize = 4_096;

pub async fn saturate(workers: usize, duration: Duration, op: Op) -> Stats {
    let deadline = Instant::now() + duration;
    closed_loop(workers, op, move |_| Instant::now() < deadline).await
}

/// Runs exactly `total` requests with `workers` clients (seeding), as fast as they go.
pub async fn count(workers: usize, total: usize, op: Op) -> Stats {
    closed_loop(workers, op, move |n| n < total).await
}

/// `workers` clients each sending request after request, numbered in order, while `more` says
/// request `n` should go out.
async fn closed_loop(workers: usize, op: Op, more: impl Fn(usize) -> bool + Clone + Send + 'static) -> Stats {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (op, next, more) = (op.clone(), next.clone(), more.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0);
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !more(n) {
                    return (latencies, errors);
                }
                let sent = Instant::now();
                if op(n).await {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
            }
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.expect("a load worker panicked");
        latencies.extend(l);
        errors += e;
    }
    Stats::new(latencies, errors, started.elapsed())
}

pub async fn fixed_rate(rate: f64, duration: Duration, op: Op) -> Stats {
    let started = tokio::time::Instant::now();
    let total = (rate * duration.as_secs_f64()) as usize;
    let results = Arc::new(Mutex::new((Vec::with_capacity(total), 0usize)));
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let intended = started + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(intended).await;
        let permit = limit.clone().acquire_owned().await.expect("the semaphore stays open");
        let (op, results) = (op.clone(), results.clone());
        tasks.push(tokio::spawn(async move {
            let ok = op(n).await;
            let latency = intended.elapsed();
            let mut results = results.lock().await;
            if ok {
                results.0.push(latency)
            } else {
                results.1 += 1
            }
            drop(permit);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let (latencies, errors) = std::mem::take(&mut *results.lock().await);
    Stats::new(latencies, errors, elapsed)
}
