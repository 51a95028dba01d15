//! What a piece of code logs: [`logs_of`] runs a future with a `tracing` subscriber of
//! its own on this thread and returns the lines it wrote, so a test can check what was
//! logged (and that a secret was not).

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// A writer keeping what it is given.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged (every level, without colours) while `run` runs on this thread,
/// and its output.
pub async fn logs_of<F: Future>(run: F) -> (F::Output, String) {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = run.await;
    let bytes = buffer
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (output, String::from_utf8_lossy(&bytes).into_owned())
}
