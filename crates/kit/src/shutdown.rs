//! Graceful shutdown: one signal that background tasks and long-lived streams watch.

use tokio::sync::watch;

/// Fired once, when the service starts shutting down.
#[derive(Clone, Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// The sending half, held by whoever runs the service.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    pub fn is_fired(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once shutdown has begun (at once if it already has).
    pub async fn fired(&self) {
        let mut receiver = self.receiver.clone();
        // An error means the trigger was dropped, which also ends the service.
        let _ = receiver.wait_for(|fired| *fired).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
