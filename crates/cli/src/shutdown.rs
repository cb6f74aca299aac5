//! The shutdown signal: SIGINT (Ctrl-C) or SIGTERM.
//!
//! Listening starts when [`Signals::listen`] is called, not when the future is first
//! polled: a SIGTERM that arrives after that point is a request to stop, never the
//! default action that kills the process on the spot.

/// The shutdown signals, listened to from the moment this is made.
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub(crate) fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(sig) => Some(sig),
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

    /// The next SIGINT or SIGTERM.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(sig: Option<&mut tokio::signal::unix::Signal>) {
                match sig {
                    Some(sig) => {
                        sig.recv().await;
                    }
                    None => std::future::pending::<()>().await,
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

/// The first SIGINT or SIGTERM after this call.
pub(crate) fn signal() -> impl std::future::Future<Output = ()> {
    let mut signals = Signals::listen();
    async move { signals.recv().await }
}
