//! What the two directions of the relay remember between them, in memory, per
//! integration: the WhatsApp labels each chat has (so a label change is not echoed back
//! to the side it came from), the instance's last connection state and its own ids (for
//! the status conversation), and when each chat was last told the business is typing
//! (to send at most one presence command per chat every few seconds).
//!
//! Nothing here must survive a restart: after one, a label change may be sent once more
//! to the side that already has it (a no-op there), `/status` says the state is not known
//! yet, and typing starts afresh.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ryze_domain::{BridgeIntegrationId, BusinessPresence};
use ryze_ports::chatwoot::{ConversationDisplayId, MessageId};
use ryze_ports::whatsapp_events::InstanceStateChange;

/// The shortest time between two presence commands for one chat, unless the second
/// stops a `composing` (so the customer never sees "typing…" linger).
pub(crate) const PRESENCE_INTERVAL: Duration = Duration::from_secs(4);

#[derive(Debug, Default)]
struct IntegrationMemory {
    /// Chat JID → the label names WhatsApp has on it (as last seen or sent).
    whatsapp_labels: HashMap<String, Vec<String>>,
    /// Chatwoot label title → the WhatsApp name it came from.
    whatsapp_names: HashMap<String, String>,
    /// Chat JID → Chatwoot's `updated_at` of the newest label change taken from a webhook
    /// (Chatwoot delivers webhooks in parallel: an older one may arrive after a newer one).
    newest_label_change: HashMap<String, f64>,
    connection: Option<InstanceStateChange>,
    /// The instance's own phone JID and `@lid`, from `connected`.
    own_ids: Vec<String>,
    /// Chat JID → the last presence sent and when.
    presence_sent: HashMap<String, (BusinessPresence, Instant)>,
    /// The QR code the status conversation shows, while it may still be scanned.
    shown_qr_code: Option<(ConversationDisplayId, MessageId)>,
}

/// Shared by the inbound and outbound relays of one bridge.
#[derive(Debug, Default)]
pub(crate) struct RelayMemory {
    integrations: Mutex<HashMap<BridgeIntegrationId, IntegrationMemory>>,
}

impl RelayMemory {
    fn with<T>(
        &self,
        integration: &BridgeIntegrationId,
        use_memory: impl FnOnce(&mut IntegrationMemory) -> T,
    ) -> T {
        let mut integrations: MutexGuard<'_, _> = self
            .integrations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        use_memory(integrations.entry(integration.clone()).or_default())
    }

    /// The labels WhatsApp has on `chat`, when known.
    pub(crate) fn whatsapp_labels(
        &self,
        integration: &BridgeIntegrationId,
        chat: &str,
    ) -> Option<Vec<String>> {
        self.with(integration, |memory| {
            memory.whatsapp_labels.get(chat).cloned()
        })
    }

    /// Records the labels WhatsApp has on `chat`, with the Chatwoot title of each.
    pub(crate) fn remember_whatsapp_labels(
        &self,
        integration: &BridgeIntegrationId,
        chat: &str,
        labels: &[(String, String)],
    ) {
        self.with(integration, |memory| {
            for (name, title) in labels {
                memory.whatsapp_names.insert(title.clone(), name.clone());
            }
            memory.whatsapp_labels.insert(
                chat.to_owned(),
                labels.iter().map(|(name, _)| name.clone()).collect(),
            );
        });
    }

    /// Takes a label change Chatwoot made at `changed_at` (its `updated_at`, seconds) on
    /// `chat`'s conversation: false when a newer one was taken already, so this one
    /// arrived late and must not undo it.
    pub(crate) fn take_label_change_at(
        &self,
        integration: &BridgeIntegrationId,
        chat: &str,
        changed_at: f64,
    ) -> bool {
        self.with(integration, |memory| {
            match memory.newest_label_change.get(chat) {
                Some(newest) if *newest > changed_at => false,
                _ => {
                    memory
                        .newest_label_change
                        .insert(chat.to_owned(), changed_at);
                    true
                }
            }
        })
    }

    /// The WhatsApp name a Chatwoot label title came from, when one did.
    pub(crate) fn whatsapp_name(
        &self,
        integration: &BridgeIntegrationId,
        title: &str,
    ) -> Option<String> {
        self.with(integration, |memory| {
            memory.whatsapp_names.get(title).cloned()
        })
    }

    pub(crate) fn remember_connection(
        &self,
        integration: &BridgeIntegrationId,
        change: &InstanceStateChange,
    ) {
        self.with(integration, |memory| {
            if let Some(me) = &change.me {
                memory.own_ids = me.jid.iter().chain(me.lid.iter()).cloned().collect();
            }
            memory.connection = Some(change.clone());
        });
    }

    /// Records the QR code now shown; returns the one shown before, to delete.
    pub(crate) fn replace_shown_qr_code(
        &self,
        integration: &BridgeIntegrationId,
        shown: Option<(ConversationDisplayId, MessageId)>,
    ) -> Option<(ConversationDisplayId, MessageId)> {
        self.with(integration, |memory| {
            std::mem::replace(&mut memory.shown_qr_code, shown)
        })
    }

    /// The last connection change seen since the bridge started.
    pub(crate) fn connection(
        &self,
        integration: &BridgeIntegrationId,
    ) -> Option<InstanceStateChange> {
        self.with(integration, |memory| memory.connection.clone())
    }

    /// Whether `id` (a JID or `@lid`) is the instance's own account.
    pub(crate) fn is_own_id(&self, integration: &BridgeIntegrationId, id: &str) -> bool {
        self.with(integration, |memory| {
            memory.own_ids.iter().any(|own| own == id)
        })
    }

    /// Whether to send `presence` to `chat` now (and, if so, records it as sent): not
    /// when it repeats the last one sent within [`PRESENCE_INTERVAL`], nor when anything
    /// was sent within it, unless it stops a `composing`.
    pub(crate) fn take_presence_turn(
        &self,
        integration: &BridgeIntegrationId,
        chat: &str,
        presence: BusinessPresence,
        now: Instant,
    ) -> bool {
        self.with(integration, |memory| {
            let due = match memory.presence_sent.get(chat) {
                None => presence == BusinessPresence::Composing,
                Some((last, at)) => {
                    let recent = now.saturating_duration_since(*at) < PRESENCE_INTERVAL;
                    let stops_typing = *last == BusinessPresence::Composing
                        && presence == BusinessPresence::Paused;
                    stops_typing || !recent
                }
            };
            if due {
                memory
                    .presence_sent
                    .insert(chat.to_owned(), (presence, now));
            }
            due
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_is_sent_at_most_once_per_chat_and_interval_but_a_stop_always_goes() {
        let memory = RelayMemory::default();
        let integration = BridgeIntegrationId::new("brg_1");
        let start = Instant::now();
        let turn = |presence, after: u64| {
            memory.take_presence_turn(
                &integration,
                "5511@s.whatsapp.net",
                presence,
                start + Duration::from_millis(after),
            )
        };
        assert!(!turn(BusinessPresence::Paused, 0), "nothing to stop yet");
        assert!(turn(BusinessPresence::Composing, 0));
        assert!(
            !turn(BusinessPresence::Composing, 1_000),
            "repeat within the interval"
        );
        assert!(turn(BusinessPresence::Paused, 1_500), "a stop goes at once");
        assert!(
            !turn(BusinessPresence::Composing, 2_000),
            "too soon after the stop"
        );
        assert!(!turn(BusinessPresence::Paused, 2_500));
        assert!(
            turn(BusinessPresence::Composing, 6_000),
            "after the interval"
        );
        assert!(
            memory.take_presence_turn(
                &integration,
                "5521@s.whatsapp.net",
                BusinessPresence::Composing,
                start + Duration::from_millis(6_001),
            ),
            "other chats are independent"
        );
    }
}
