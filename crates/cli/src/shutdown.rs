//! The shutdown signal: SIGINT (Ctrl-C) or SIGTERM.

/// SIGINT and SIGTERM, listened for from the moment this is made: a signal that comes
/// before anything waits for it is kept for the next [`Signals::recv`], instead of
/// ending the process by the default action (a consumer stopped that way would not
/// finish its batch in flight).
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Listens from now on. Must run inside the runtime.
    pub(crate) fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(listening) => Some(listening),
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for {name}");
                    None
                }
            };
            Signals {
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt.as_mut()) => tracing::info!("received SIGINT"),
                () = next(self.terminate.as_mut()) => tracing::info!("received SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("received SIGINT");
        }
    }
}

/// The next SIGINT or SIGTERM from now.
pub(crate) async fn signal() {
    Signals::listen().recv().await;
}
