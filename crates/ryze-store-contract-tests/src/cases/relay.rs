//! The relay memory's cases (`RelayStore` and `OutboundQueueStore`). Its tables have no
//! foreign key (rows are scoped by the bridge integration's id), so these cases record
//! rows for integrations the store has never seen.

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use ryze_domain::BridgeIntegrationId;
use ryze_ports::{
    ContactId, ConversationDisplayId, EnqueueOutcome, KnownContact, LinkDirection, LinkState,
    MessageId, MessageLink, NewMessageLink, OutboundQueueStore, QueuedWebhook, RelayStore,
    StoreError,
};
use tokio::task::JoinSet;

use super::StoreUnderTest;
use crate::fixtures::{instant, new_message_link, relay_integration};

const PHONE: &str = "5511988887777";
const LID: &str = "123456789012345@lid";

fn keys(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

async fn remembered(
    store: &impl RelayStore,
    integration: &BridgeIntegrationId,
    contact_id: i64,
    key_values: &[&str],
) {
    store
        .remember_contact(
            integration,
            ContactId(contact_id),
            &format!("source-{contact_id}"),
            &keys(key_values),
        )
        .await
        .expect("remembering a contact succeeds");
}

async fn found_contact(
    store: &impl RelayStore,
    integration: &BridgeIntegrationId,
    key_values: &[&str],
) -> Option<KnownContact> {
    store
        .find_contact(integration, &keys(key_values))
        .await
        .expect("finding a contact succeeds")
}

/// The contact `contact_id` as [`remembered`] records it, with `key_values` (sorted here).
fn known(contact_id: i64, key_values: &[&str]) -> KnownContact {
    let mut sorted = keys(key_values);
    sorted.sort();
    KnownContact {
        contact_id: ContactId(contact_id),
        source_id: format!("source-{contact_id}"),
        keys: sorted,
    }
}

async fn begun(
    store: &impl RelayStore,
    integration: &BridgeIntegrationId,
    link: NewMessageLink,
) -> MessageLink {
    store
        .begin_message_link(integration, link)
        .await
        .expect("beginning a message link succeeds")
}

async fn link_of(
    store: &impl RelayStore,
    integration: &BridgeIntegrationId,
    whatsapp_id: &str,
) -> Option<MessageLink> {
    store
        .find_link_by_whatsapp_id(integration, whatsapp_id)
        .await
        .expect("finding a message link succeeds")
}

/// The pending link `begin_message_link` records for `link`, created at `created_at`.
fn pending(link: NewMessageLink, created_at: DateTime<Utc>) -> MessageLink {
    MessageLink {
        whatsapp_id: link.whatsapp_id,
        chatwoot_id: link.chatwoot_id,
        conversation: link.conversation,
        direction: link.direction,
        chat_jid: link.chat_jid,
        from_me: link.from_me,
        participant_jid: link.participant_jid,
        state: LinkState::Pending,
        failure: String::new(),
        created_at,
    }
}

/// An agent's reply `whatsapp_id`, Chatwoot message `chatwoot_id`, sent to WhatsApp.
fn reply_link(whatsapp_id: &str, chatwoot_id: i64) -> NewMessageLink {
    NewMessageLink {
        whatsapp_id: whatsapp_id.to_owned(),
        chatwoot_id: Some(MessageId(chatwoot_id)),
        conversation: Some(ConversationDisplayId(31)),
        direction: LinkDirection::ToWhatsApp,
        chat_jid: format!("{PHONE}@s.whatsapp.net"),
        from_me: true,
        participant_jid: None,
    }
}

async fn queued(
    store: &impl OutboundQueueStore,
    integration: &BridgeIntegrationId,
    dedupe_key: &str,
    offset_seconds: i64,
) -> i64 {
    match enqueued(store, integration, dedupe_key, offset_seconds).await {
        EnqueueOutcome::Queued { id } => id,
        EnqueueOutcome::Duplicate => panic!("the webhook {dedupe_key} was refused as a duplicate"),
    }
}

async fn enqueued(
    store: &impl OutboundQueueStore,
    integration: &BridgeIntegrationId,
    dedupe_key: &str,
    offset_seconds: i64,
) -> EnqueueOutcome {
    store
        .enqueue_webhook(
            integration,
            dedupe_key,
            webhook_payload(dedupe_key),
            instant(offset_seconds),
        )
        .await
        .expect("enqueuing a webhook succeeds")
}

/// A webhook body naming its key, with bytes that are not UTF-8, so a backend that
/// treats the payload as text would break it.
fn webhook_payload(dedupe_key: &str) -> Vec<u8> {
    let mut payload = format!(r#"{{"event":"message_created","id":"{dedupe_key}"}}"#).into_bytes();
    payload.extend([0x00, 0xff, 0x80]);
    payload
}

async fn pending_webhooks(store: &impl OutboundQueueStore) -> Vec<QueuedWebhook> {
    store
        .pending_webhooks(100)
        .await
        .expect("reading pending webhooks succeeds")
}

async fn pending_ids(store: &impl OutboundQueueStore) -> Vec<i64> {
    pending_webhooks(store)
        .await
        .into_iter()
        .map(|webhook| webhook.id)
        .collect()
}

async fn finished(store: &impl OutboundQueueStore, id: i64) {
    store
        .finish_webhook(id)
        .await
        .expect("finishing a webhook succeeds");
}

pub async fn find_contact_finds_a_person_by_any_of_their_keys(store: impl StoreUnderTest) {
    let (sales, support) = (relay_integration("sales"), relay_integration("support"));
    remembered(&store, &sales, 7, &[PHONE, LID]).await;

    let person = Some(known(7, &[PHONE, LID]));
    assert_eq!(found_contact(&store, &sales, &[PHONE]).await, person);
    assert_eq!(found_contact(&store, &sales, &[LID]).await, person);
    assert_eq!(
        found_contact(&store, &sales, &["5511900000000", LID]).await,
        person,
        "an unknown key beside a known one still finds the person"
    );
    assert_eq!(
        found_contact(&store, &sales, &["5511900000000"]).await,
        None
    );
    assert_eq!(found_contact(&store, &sales, &[]).await, None);
    assert_eq!(
        found_contact(&store, &support, &[PHONE]).await,
        None,
        "contacts are scoped by integration"
    );
}

pub async fn remember_contact_again_adds_the_new_keys(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    remembered(&store, &sales, 7, &[PHONE]).await;
    remembered(&store, &sales, 7, &[PHONE, LID]).await;

    let person = Some(known(7, &[PHONE, LID]));
    assert_eq!(found_contact(&store, &sales, &[LID]).await, person);
    assert_eq!(found_contact(&store, &sales, &[PHONE]).await, person);
}

pub async fn remember_contact_never_takes_a_key_from_another_contact(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    remembered(&store, &sales, 7, &[PHONE]).await;
    remembered(&store, &sales, 8, &[PHONE, LID]).await;

    assert_eq!(
        found_contact(&store, &sales, &[PHONE]).await,
        Some(known(7, &[PHONE])),
        "the key keeps its first contact"
    );
    assert_eq!(
        found_contact(&store, &sales, &[LID]).await,
        Some(known(8, &[LID]))
    );
}

pub async fn find_contact_with_keys_of_several_contacts_returns_the_oldest_record(
    store: impl StoreUnderTest,
) {
    let sales = relay_integration("sales");
    // Recorded first, though its id and its key sort last.
    remembered(&store, &sales, 90, &["z-key"]).await;
    remembered(&store, &sales, 3, &["a-key"]).await;

    assert_eq!(
        found_contact(&store, &sales, &["a-key", "z-key"]).await,
        Some(known(90, &["z-key"]))
    );
    assert_eq!(
        found_contact(&store, &sales, &["a-key"]).await,
        Some(known(3, &["a-key"]))
    );
}

pub async fn remember_conversation_records_and_replaces_it(store: impl StoreUnderTest) {
    let (sales, support) = (relay_integration("sales"), relay_integration("support"));
    let find = |integration: BridgeIntegrationId, contact_id: i64| {
        let store = store.clone();
        async move {
            store
                .find_conversation(&integration, ContactId(contact_id))
                .await
                .expect("finding a conversation succeeds")
        }
    };
    assert_eq!(find(sales.clone(), 7).await, None);

    store
        .remember_conversation(&sales, ContactId(7), ConversationDisplayId(100))
        .await
        .expect("remembering a conversation succeeds");
    assert_eq!(
        find(sales.clone(), 7).await,
        Some(ConversationDisplayId(100))
    );

    store
        .remember_conversation(&sales, ContactId(7), ConversationDisplayId(200))
        .await
        .expect("replacing a conversation succeeds");
    assert_eq!(
        find(sales.clone(), 7).await,
        Some(ConversationDisplayId(200))
    );
    assert_eq!(find(sales, 8).await, None, "another contact has none");
    assert_eq!(find(support, 7).await, None, "another integration has none");
}

pub async fn begin_message_link_records_a_pending_link(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    let before = Utc::now().trunc_subsecs(6);
    let link = begun(&store, &sales, new_message_link("wamid-1")).await;
    let after = Utc::now();

    assert!(
        before <= link.created_at && link.created_at <= after,
        "created now: {} not within {before}..{after}",
        link.created_at
    );
    assert_eq!(link, pending(new_message_link("wamid-1"), link.created_at));
    assert_eq!(link_of(&store, &sales, "wamid-1").await, Some(link));
    assert_eq!(link_of(&store, &sales, "wamid-2").await, None);
    assert_eq!(
        link_of(&store, &relay_integration("support"), "wamid-1").await,
        None,
        "links are scoped by integration"
    );

    let reply = begun(&store, &sales, reply_link("wamid-reply", 42)).await;
    assert_eq!(
        reply,
        pending(reply_link("wamid-reply", 42), reply.created_at)
    );
}

pub async fn begin_message_link_twice_returns_the_first_link(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    let first = begun(&store, &sales, new_message_link("wamid-1")).await;

    // The same WhatsApp id with every other field different: nothing is written.
    let again = begun(&store, &sales, reply_link("wamid-1", 42)).await;
    assert_eq!(again, first);
    assert_eq!(link_of(&store, &sales, "wamid-1").await, Some(first));
    assert_eq!(
        store.find_link_by_chatwoot_id(&sales, MessageId(42)).await,
        Ok(None)
    );

    // Once done, beginning again returns the completed link.
    assert_eq!(
        store
            .complete_message_link(&sales, "wamid-1", MessageId(43), ConversationDisplayId(9))
            .await,
        Ok(true)
    );
    let done = begun(&store, &sales, new_message_link("wamid-1")).await;
    assert_eq!(done.state, LinkState::Completed);
    assert_eq!(done.chatwoot_id, Some(MessageId(43)));
    assert_eq!(done.conversation, Some(ConversationDisplayId(9)));
}

pub async fn begin_message_link_with_a_linked_chatwoot_id_returns_that_link(
    store: impl StoreUnderTest,
) {
    let sales = relay_integration("sales");
    let first = begun(&store, &sales, reply_link("wamid-1", 42)).await;

    let again = begun(&store, &sales, reply_link("wamid-2", 42)).await;
    assert_eq!(again, first);
    assert_eq!(link_of(&store, &sales, "wamid-2").await, None);

    // The same Chatwoot id in another integration is another message.
    let support = relay_integration("support");
    let other = begun(&store, &support, reply_link("wamid-2", 42)).await;
    assert_eq!(other.whatsapp_id, "wamid-2");
}

pub async fn complete_and_fail_message_link_change_the_state_of_known_links(
    store: impl StoreUnderTest,
) {
    let sales = relay_integration("sales");
    let created = begun(&store, &sales, new_message_link("wamid-1")).await;
    begun(&store, &sales, new_message_link("wamid-2")).await;

    assert_eq!(
        store
            .complete_message_link(&sales, "wamid-1", MessageId(42), ConversationDisplayId(9))
            .await,
        Ok(true)
    );
    assert_eq!(
        link_of(&store, &sales, "wamid-1").await,
        Some(MessageLink {
            chatwoot_id: Some(MessageId(42)),
            conversation: Some(ConversationDisplayId(9)),
            state: LinkState::Completed,
            ..created.clone()
        })
    );

    assert_eq!(
        store
            .fail_message_link(&sales, "wamid-2", "Chatwoot refused the attachment")
            .await,
        Ok(true)
    );
    let failed = link_of(&store, &sales, "wamid-2")
        .await
        .expect("the link exists");
    assert_eq!(failed.state, LinkState::Failed);
    assert_eq!(failed.failure, "Chatwoot refused the attachment");
    assert_eq!(failed.chatwoot_id, None);

    let support = relay_integration("support");
    for (integration, whatsapp_id) in [(&sales, "wamid-unknown"), (&support, "wamid-1")] {
        assert_eq!(
            store
                .complete_message_link(
                    integration,
                    whatsapp_id,
                    MessageId(50),
                    ConversationDisplayId(9)
                )
                .await,
            Ok(false)
        );
        assert_eq!(
            store
                .fail_message_link(integration, whatsapp_id, "gone")
                .await,
            Ok(false)
        );
    }
    assert_eq!(
        link_of(&store, &sales, "wamid-1")
            .await
            .map(|link| link.state),
        Some(LinkState::Completed),
        "another integration's link of the same id is untouched"
    );
}

pub async fn find_link_by_chatwoot_id_finds_given_and_completed_ids(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    let reply = begun(&store, &sales, reply_link("wamid-reply", 42)).await;
    begun(&store, &sales, new_message_link("wamid-incoming")).await;
    store
        .complete_message_link(
            &sales,
            "wamid-incoming",
            MessageId(43),
            ConversationDisplayId(9),
        )
        .await
        .expect("completing succeeds");

    let by_chatwoot_id = |integration: BridgeIntegrationId, id: i64| {
        let store = store.clone();
        async move {
            store
                .find_link_by_chatwoot_id(&integration, MessageId(id))
                .await
                .expect("finding a message link succeeds")
        }
    };
    assert_eq!(by_chatwoot_id(sales.clone(), 42).await, Some(reply));
    assert_eq!(
        by_chatwoot_id(sales.clone(), 43)
            .await
            .map(|link| link.whatsapp_id),
        Some("wamid-incoming".to_owned())
    );
    assert_eq!(by_chatwoot_id(sales, 44).await, None);
    assert_eq!(by_chatwoot_id(relay_integration("support"), 42).await, None);
}

pub async fn concurrent_begins_of_one_whatsapp_id_record_one_link(store: impl StoreUnderTest) {
    const BEGINS: usize = 10;
    let sales = relay_integration("sales");

    let mut begins = JoinSet::new();
    for index in 0..BEGINS {
        let (store, sales) = (store.clone(), sales.clone());
        // Each racer records another chat, so the stored link tells who won.
        let link = NewMessageLink {
            chat_jid: format!("55119000000{index:02}@s.whatsapp.net"),
            ..new_message_link("wamid-raced")
        };
        begins.spawn(async move { store.begin_message_link(&sales, link).await });
    }
    let returned: Vec<MessageLink> = begins
        .join_all()
        .await
        .into_iter()
        .map(|outcome| outcome.expect("every concurrent begin succeeds"))
        .collect();
    let distinct: BTreeSet<&str> = returned.iter().map(|link| link.chat_jid.as_str()).collect();
    assert_eq!(
        distinct.len(),
        1,
        "every begin returns the one link: {distinct:?}"
    );
    assert!(returned.iter().all(|link| *link == returned[0]));
    assert_eq!(
        link_of(&store, &sales, "wamid-raced").await.as_ref(),
        Some(&returned[0])
    );
}

pub async fn enqueue_webhook_refuses_a_repeated_key_even_after_it_is_handled(
    store: impl StoreUnderTest,
) {
    let (sales, support) = (relay_integration("sales"), relay_integration("support"));
    let first = queued(&store, &sales, "message-1", 0).await;
    assert_eq!(
        enqueued(&store, &sales, "message-1", 5).await,
        EnqueueOutcome::Duplicate
    );
    let other = queued(&store, &support, "message-1", 6).await;
    assert_ne!(first, other, "keys are scoped by integration");

    finished(&store, first).await;
    assert_eq!(
        enqueued(&store, &sales, "message-1", 10).await,
        EnqueueOutcome::Duplicate,
        "a handled webhook's key is remembered"
    );
    assert_eq!(pending_ids(&store).await, [other]);
}

pub async fn pending_webhooks_lists_unhandled_ones_oldest_first_across_integrations(
    store: impl StoreUnderTest,
) {
    let (sales, support) = (relay_integration("sales"), relay_integration("support"));
    let late = queued(&store, &sales, "late", 30).await;
    let early = queued(&store, &support, "early", 10).await;
    let middle = queued(&store, &sales, "middle", 20).await;
    let handled = queued(&store, &support, "handled", 0).await;
    assert!(
        late < early && early < middle && middle < handled,
        "ids increase in arrival order"
    );
    assert_eq!(store.count_pending_webhooks().await, Ok(4));
    finished(&store, handled).await;
    assert_eq!(
        store.count_pending_webhooks().await,
        Ok(3),
        "a handled webhook is no longer pending"
    );

    assert_eq!(
        pending_webhooks(&store).await,
        [
            (early, &support, "early", 10),
            (middle, &sales, "middle", 20),
            (late, &sales, "late", 30),
        ]
        .map(|(id, integration, key, offset)| QueuedWebhook {
            id,
            integration: integration.clone(),
            dedupe_key: key.to_owned(),
            payload: webhook_payload(key),
            received_at: instant(offset),
            attempts: 0,
        })
    );
    let first_two: Vec<i64> = store
        .pending_webhooks(2)
        .await
        .expect("reading pending webhooks succeeds")
        .into_iter()
        .map(|webhook| webhook.id)
        .collect();
    assert_eq!(first_two, [early, middle]);
    assert_eq!(store.pending_webhooks(0).await, Ok(Vec::new()));

    // Finishing twice, or an unknown webhook, changes nothing.
    finished(&store, handled).await;
    finished(&store, handled + 1_000).await;
    assert_eq!(pending_ids(&store).await, [early, middle, late]);
}

pub async fn record_webhook_attempt_counts_failed_attempts(store: impl StoreUnderTest) {
    let sales = relay_integration("sales");
    let retried = queued(&store, &sales, "retried", 0).await;
    let untouched = queued(&store, &sales, "untouched", 1).await;
    for expected in 1..=3 {
        assert_eq!(store.record_webhook_attempt(retried).await, Ok(expected));
    }

    let attempts: Vec<(i64, u32)> = pending_webhooks(&store)
        .await
        .into_iter()
        .map(|webhook| (webhook.id, webhook.attempts))
        .collect();
    assert_eq!(attempts, [(retried, 3), (untouched, 0)]);

    let unknown = store.record_webhook_attempt(untouched + 1_000).await;
    assert!(
        matches!(unknown, Err(StoreError::Query(_))),
        "an unknown webhook has no attempts to count: {unknown:?}"
    );
}

pub async fn forget_handled_before_drops_only_handled_webhooks_older_than_the_cutoff(
    store: impl StoreUnderTest,
) {
    let sales = relay_integration("sales");
    let handled_early = queued(&store, &sales, "handled-early", 0).await;
    let still_pending = queued(&store, &sales, "still-pending", 1).await;
    let handled_late = queued(&store, &sales, "handled-late", 2).await;
    finished(&store, handled_early).await;
    let between = Utc::now();
    finished(&store, handled_late).await;

    assert_eq!(
        store
            .forget_handled_before(between - TimeDelta::hours(1))
            .await,
        Ok(0),
        "nothing was handled an hour ago"
    );
    assert_eq!(store.forget_handled_before(between).await, Ok(1));

    // The forgotten key can be queued again; the others are still remembered.
    let again = queued(&store, &sales, "handled-early", 10).await;
    assert!(again > handled_late, "a new id, never reused");
    for remembered_key in ["handled-late", "still-pending"] {
        assert_eq!(
            enqueued(&store, &sales, remembered_key, 10).await,
            EnqueueOutcome::Duplicate
        );
    }

    assert_eq!(
        store
            .forget_handled_before(Utc::now() + TimeDelta::minutes(1))
            .await,
        Ok(1),
        "unhandled webhooks are never forgotten"
    );
    assert_eq!(pending_ids(&store).await, [still_pending, again]);
}

pub async fn forget_integration_drops_its_rows_and_leaves_other_integrations_alone(
    store: impl StoreUnderTest,
) {
    let (sales, support) = (relay_integration("sales"), relay_integration("support"));
    for integration in [&sales, &support] {
        remembered(&store, integration, 7, &[PHONE, LID]).await;
        store
            .remember_conversation(integration, ContactId(7), ConversationDisplayId(100))
            .await
            .expect("remembering a conversation succeeds");
        begun(&store, integration, reply_link("wamid-1", 42)).await;
        queued(&store, integration, "message-1", 0).await;
    }

    store
        .forget_integration(&sales)
        .await
        .expect("forgetting succeeds");

    assert_eq!(found_contact(&store, &sales, &[PHONE, LID]).await, None);
    assert_eq!(
        store.find_conversation(&sales, ContactId(7)).await,
        Ok(None)
    );
    assert_eq!(link_of(&store, &sales, "wamid-1").await, None);
    assert_eq!(
        store.find_link_by_chatwoot_id(&sales, MessageId(42)).await,
        Ok(None)
    );
    let pending = pending_webhooks(&store).await;
    assert_eq!(
        pending
            .iter()
            .map(|webhook| &webhook.integration)
            .collect::<Vec<_>>(),
        [&support]
    );
    queued(&store, &sales, "message-1", 5).await;

    assert_eq!(
        found_contact(&store, &support, &[PHONE]).await,
        Some(known(7, &[PHONE, LID]))
    );
    assert_eq!(
        store.find_conversation(&support, ContactId(7)).await,
        Ok(Some(ConversationDisplayId(100)))
    );
    assert!(link_of(&store, &support, "wamid-1").await.is_some());
    assert_eq!(
        enqueued(&store, &support, "message-1", 5).await,
        EnqueueOutcome::Duplicate
    );

    store
        .forget_integration(&relay_integration("unknown"))
        .await
        .expect("forgetting an unknown integration succeeds");
}
