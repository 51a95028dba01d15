//! A small TCP load balancer for the several-nodes tests, standing in for the one an
//! operator puts in front of the API or bridge nodes: each new connection goes to the
//! next backend in turn (round-robin), and a backend that refuses the connection (a dead
//! node) is skipped for the next one. Bytes are copied both ways until either side
//! closes; nothing is parsed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest wait for one backend to accept a connection before the next one is tried.
const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A running balancer; it stops accepting connections when dropped.
pub(crate) struct Balancer {
    address: SocketAddr,
    accepting: JoinHandle<()>,
}

impl Balancer {
    /// Listens on a free loopback port and spreads connections over `backends`.
    pub(crate) async fn start(backends: Vec<SocketAddr>) -> Balancer {
        assert!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let backends = Arc::new(backends);
        let next_backend = Arc::new(AtomicUsize::new(0));
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let first = next_backend.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(forward(client, backends.clone(), first));
            }
        });
        Balancer { address, accepting }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Connects `client` to the first backend, from the `first`-th on (wrapping), that
/// accepts, and copies bytes both ways; closes `client` when none does.
async fn forward(mut client: TcpStream, backends: Arc<Vec<SocketAddr>>, first: usize) {
    for offset in 0..backends.len() {
        let backend = backends[(first + offset) % backends.len()];
        let connected =
            tokio::time::timeout(BACKEND_CONNECT_TIMEOUT, TcpStream::connect(backend)).await;
        if let Ok(Ok(mut server)) = connected {
            let _ = server.set_nodelay(true);
            let _ = client.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            return;
        }
    }
}
