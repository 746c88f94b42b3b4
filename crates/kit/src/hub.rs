//! Live streams without a query per stream: one task per process tails the event log and fans
//! each new event out to every open stream. A stream first catches up from the database, then
//! follows the hub; if it falls behind the hub's buffer it catches up from the database again.

use actix_web::web::{Bytes, BytesMut};
use serde::Serialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

use crate::db::{Db, DbConnection};
use crate::events::{Event, EventFilter, ReadError, last_id, read, read_filtered};
use crate::shutdown::Shutdown;

/// Events buffered per stream before it must catch up from the database.
const BUFFER: usize = 1024;
const PAGE: u32 = 500;
/// A chunk of frames stops growing past this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;
/// Wake-up interval when nothing was signalled, covering writes by other replicas.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How long the tail waits, once a commit wakes it, before it reads: commits that land together
/// are then read together, so under load one read serves many commits (every commit used to
/// cost the database a read), and a live frame is at most this much later.
const GATHER: Duration = Duration::from_millis(2);

/// The process's one tail of the event log.
pub struct EventHub {
    sender: broadcast::Sender<Arc<Event>>,
}

impl EventHub {
    /// Starts the tail; it ends when `shutdown` fires.
    pub fn start(db: Db, shutdown: Shutdown) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (sender, _) = broadcast::channel(BUFFER);
        let hub = Arc::new(Self { sender: sender.clone() });
        (hub, tokio::spawn(tail(db, sender, shutdown)))
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }
}

async fn tail(db: Db, sender: broadcast::Sender<Arc<Event>>, shutdown: Shutdown) {
    let changes = db.change_notifier();
    let mut cursor = db.read(last_id).await.unwrap_or(0);
    loop {
        let notified = changes.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut more = false;
        if sender.receiver_count() == 0 {
            // Nobody listens: just keep up, without reading events. Checked again after the
            // read: a stream that subscribed meanwhile may need what we would skip, while one
            // that subscribes later catches up from the database past `newest` by itself.
            if let Ok(newest) = db.read(last_id).await
                && sender.receiver_count() == 0
            {
                cursor = newest;
            }
        } else {
            let after = cursor;
            match db.read(move |conn| read(conn, after, PAGE)).await {
                Ok(batch) => {
                    more = batch.len() == PAGE as usize;
                    for event in batch {
                        cursor = event.id;
                        let _ = sender.send(Arc::new(event));
                    }
                }
                Err(ReadError::Gone { .. }) => {
                    // Only after a stall longer than retention. The hub moves on; a stream that
                    // was live through it may have missed pruned events, as any reader that far
                    // behind would (it gets 410 when it reconnects from before them).
                    tracing::error!("the event hub fell behind retention; live streams may have gaps");
                    cursor = db.read(last_id).await.unwrap_or(cursor);
                }
                // The database is briefly unavailable: try again, losing nothing.
                Err(_) => {}
            }
        }
        if more {
            continue;
        }
        tokio::select! {
            _ = notified => tokio::time::sleep(GATHER).await,
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = shutdown.fired() => return,
        }
    }
}

/// A live stream of the events after `cursor` that pass `filter`.
pub(crate) struct LiveStream {
    db: Db,
    receiver: broadcast::Receiver<Arc<Event>>,
    shutdown: Shutdown,
    filter: EventFilter,
    cursor: i64,
    pending: VecDeque<Event>,
    catching_up: bool,
    last_sent: Instant,
}

impl LiveStream {
    /// Subscribes before the first read, so nothing committed in between is missed.
    pub(crate) fn new(
        db: &Db,
        hub: &EventHub,
        shutdown: &Shutdown,
        after: i64,
        filter: EventFilter,
        first: Vec<Event>,
    ) -> Self {
        Self {
            db: db.clone(),
            receiver: hub.subscribe(),
            shutdown: shutdown.clone(),
            filter,
            cursor: after,
            pending: first.into(),
            catching_up: true,
            last_sent: Instant::now(),
        }
    }

    fn passes(&self, event: &Event) -> bool {
        self.filter.app_id.as_ref().is_none_or(|app| *app == event.app_id)
            && self.filter.subject.as_ref().is_none_or(|subject| *subject == event.subject)
    }

    /// Queues a live event for sending if this stream wants it.
    fn take(&mut self, event: &Event) {
        if event.id > self.cursor && self.passes(event) {
            self.pending.push_back(event.clone());
        }
    }

    pub(crate) async fn next_frame(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if self.shutdown.is_fired() {
                return None;
            }
            // Whatever is pending goes out as one chunk (up to a bound): a consumer catching up
            // reads many frames per read instead of one.
            let mut chunk = BytesMut::new();
            while chunk.len() < CHUNK_BYTES
                && let Some(event) = self.pending.pop_front()
            {
                if event.id > self.cursor {
                    self.cursor = event.id;
                    chunk.extend_from_slice(&sse_frame(Some(event.id), &event.event_type, &event));
                }
            }
            if !chunk.is_empty() {
                self.last_sent = Instant::now();
                return Some((Ok(chunk.freeze()), self));
            }
            if self.catching_up {
                let (cursor, filter) = (self.cursor, self.filter.clone());
                let read_page = move |conn: &mut DbConnection| {
                    // Newest first: ids are handed out in commit order, so every event up to it
                    // has committed and the read below sees it.
                    let newest = last_id(conn)?;
                    Ok::<_, ReadError>((read_filtered(conn, cursor, PAGE, &filter)?, newest))
                };
                match self.db.read(read_page).await {
                    Ok((page, newest)) if page.is_empty() => {
                        self.cursor = self.cursor.max(newest);
                        self.catching_up = false;
                    }
                    Ok((page, _)) => self.pending.extend(page),
                    // Pruned past us, or the database is gone: end the stream; the client
                    // resumes with Last-Event-ID and gets a precise answer.
                    Err(_) => return None,
                }
                continue;
            }
            let keepalive = KEEPALIVE_INTERVAL.saturating_sub(self.last_sent.elapsed());
            let shutdown = self.shutdown.clone();
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(event) => {
                        self.take(&event);
                        // And whatever else is already here, for the same chunk.
                        while let Ok(event) = self.receiver.try_recv() {
                            self.take(&event);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(keepalive) => {
                    self.last_sent = Instant::now();
                    return Some((Ok(Bytes::from_static(b": keepalive\n\n")), self));
                }
                _ = shutdown.fired() => return None,
            }
        }
    }
}

/// One server-sent event frame.
pub fn sse_frame(id: Option<i64>, event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    let id_line = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
    Bytes::from(format!("{id_line}event: {event}\ndata: {json}\n\n"))
}
