//! The cap on media work in the API: at most `permits` media requests (an upload of up
//! to 90 MiB of base64, or a download answered in base64) are handled at once, whatever
//! the number of callers. A request that finds none free waits up to `wait`, then gets
//! 503 with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ApiError;

/// Media requests handled at once by default.
pub const DEFAULT_MEDIA_CONCURRENCY: usize = 4;

/// How long a media request waits for a permit by default.
const DEFAULT_PERMIT_WAIT: Duration = Duration::from_secs(10);

pub(crate) const MEDIA_BUSY: &str =
    "too many media requests in progress; try again in a few seconds";

/// Shared by every worker of the server (clone it, do not build one per worker).
#[derive(Clone, Debug)]
pub struct MediaWorkLimit {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// Held while a media request is handled.
#[derive(Debug)]
pub struct MediaWorkPermit(#[allow(dead_code)] OwnedSemaphorePermit);

impl MediaWorkLimit {
    /// At most `concurrent` media requests at once (at least one), waiting up to `wait`.
    pub fn new(concurrent: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            wait,
        }
    }

    /// A permit, or 503 when none frees up within the wait.
    pub async fn hold(&self) -> Result<MediaWorkPermit, ApiError> {
        let busy = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, MEDIA_BUSY);
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(MediaWorkPermit(permit)),
            // The semaphore is never closed; a closed one is as busy as can be.
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }
}

impl Default for MediaWorkLimit {
    fn default() -> Self {
        Self::new(DEFAULT_MEDIA_CONCURRENCY, DEFAULT_PERMIT_WAIT)
    }
}
