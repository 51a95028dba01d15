//! [`MediaLibrary`]: the media the simulator can serve from
//! `GET /v1/instances/{instanceId}/media/{messageId}`, keyed by instance and message id.
//! Scripts linked to a simulator put every media message they build here, and the
//! command endpoints put the media the API sends; a test can mark an entry as gone
//! (`410 media_gone`) the way WhatsApp drops old media.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::media_file::MediaFile;

/// What the library holds for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredMedia {
    Available(MediaFile),
    /// WhatsApp no longer has it.
    Gone,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MediaLibrary {
    entries: Arc<Mutex<HashMap<(String, String), StoredMedia>>>,
}

impl MediaLibrary {
    fn entries(&self) -> MutexGuard<'_, HashMap<(String, String), StoredMedia>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers (or replaces) the media of a message.
    pub fn remember(&self, instance: &str, message_id: &str, file: MediaFile) {
        self.entries().insert(
            (instance.to_owned(), message_id.to_owned()),
            StoredMedia::Available(file),
        );
    }

    /// Marks a message's media as no longer downloadable (also when it was never known).
    pub fn expire(&self, instance: &str, message_id: &str) {
        self.entries().insert(
            (instance.to_owned(), message_id.to_owned()),
            StoredMedia::Gone,
        );
    }

    /// What is known of a message's media.
    pub fn get(&self, instance: &str, message_id: &str) -> Option<StoredMedia> {
        self.entries()
            .get(&(instance.to_owned(), message_id.to_owned()))
            .cloned()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries().clear();
    }
}
