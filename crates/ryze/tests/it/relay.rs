//! Issue-4 end to end: the engine simulator publishes WhatsApp events into the API, the
//! API's event hub streams them to the bridge (both from `ryze serve`, in this process),
//! and the bridge relays them into the Chatwoot simulator. Every assertion reads what
//! landed in Chatwoot: contacts, conversations and their status, messages, attachments
//! and reply links.

use std::time::{Duration, Instant};

use crate::support::product::{
    maria, message_id_of, message_with_source, relayed, sales_team, Product, ADMIN_TOKEN, WAIT,
};
use chatwoot_simulator::model::{ConversationStatus, MessageStatus, MessageType};
use engine_simulator::script::{Contact, Group};
use engine_simulator::MediaFile;
use ryze_ports::whatsapp_events::{ContactCard, ContactNumber, EventEnvelope, ReceiptStatus};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_from_a_new_contact_makes_one_contact_one_open_conversation_and_the_message() {
    let product = Product::start(json!({})).await;
    let event = product
        .script
        .text(maria(), "Olá, *preciso* de ajuda")
        .build();
    product.publish(&event).await;

    let store = product.wait_for_messages(1).await;
    assert_eq!(store.contacts.len(), 1);
    let contact = store.contacts.values().next().unwrap();
    assert_eq!(contact.name, "Maria Silva");
    assert_eq!(contact.phone_number.as_deref(), Some("+5511987654321"));
    assert_eq!(
        contact.identifier.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(
        store.contact_inboxes.len(),
        1,
        "created with the inbox, never orphaned"
    );
    assert_eq!(store.conversations.len(), 1);
    let conversation = store.conversations.values().next().unwrap();
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(
        conversation.contact_inbox_id,
        *store.contact_inboxes.keys().next().unwrap(),
        "the conversation uses the contact's inbox link"
    );
    let message = message_with_source(&store, &message_id_of(&event));
    assert_eq!(
        message.content.as_deref(),
        Some("Olá, **preciso** de ajuda")
    );
    assert_eq!(message.message_type, MessageType::Incoming);
    assert!(!message.private);

    // The same event again (the engine retried): still one message.
    product.publish(&event).await;
    let second = product.script.text(maria(), "obrigada").build();
    product.publish(&second).await;
    let store = product.wait_for_messages(2).await;
    assert_eq!(relayed(&store).len(), 2);

    // `list`'s live part may be up to a second old.
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let status = product.status().await;
        if status["counters"]["relayed"] == 2 || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status["connection"], "connected", "{status}");
    assert_eq!(status["counters"]["received"], 2, "{status}");
    assert_eq!(status["counters"]["relayed"], 2, "{status}");
    assert_eq!(status["last_error"], "", "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_of_twenty_images_from_a_new_contact_makes_one_contact_and_one_conversation() {
    let product = Product::start(json!({})).await;
    let ana = Contact::new("Ana", "5521987650000");
    let album: Vec<EventEnvelope> = (0..20)
        .map(|index| {
            product
                .script
                .image(&ana, MediaFile::sample_jpeg())
                .caption(format!("foto {index}"))
                .build()
        })
        .collect();
    // Published concurrently, as a burst.
    futures::future::join_all(album.iter().map(|event| product.publish(event))).await;

    let store = product.wait_for_messages(20).await;
    assert_eq!(store.contacts.len(), 1, "one contact");
    assert_eq!(store.conversations.len(), 1, "one conversation");
    for message in relayed(&store) {
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0].content_type, "image/jpeg");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_by_lid_by_phone_and_with_or_without_the_ninth_digit_is_one_contact() {
    let product = Product::start(json!({})).await;
    let joao = Contact::new("João", "5511987654321").with_lid("204958204958204@lid");
    let by_both = product.script.text(&joao, "primeira").build();
    let by_lid_only = product
        .script
        .text(Contact::hidden("João", "204958204958204@lid"), "segunda")
        .build();
    let without_ninth_digit = product
        .script
        .text(
            Contact::new("João", "5511987654321").with_legacy_brazilian_number(),
            "terceira",
        )
        .build();
    for event in [&by_both, &by_lid_only, &without_ninth_digit] {
        product.publish(event).await;
    }
    let store = product.wait_for_messages(3).await;
    assert_eq!(store.contacts.len(), 1, "{:#?}", store.contacts);
    assert_eq!(store.conversations.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_kind_lands_readably_with_files_and_reply_links() {
    let product = Product::start(json!({})).await;
    let maria = maria();
    let script = &product.script;
    let text = script.text(&maria, "pedido 42").build();
    let image = script
        .image(&maria, MediaFile::sample_jpeg())
        .caption("a _foto_")
        .file_name("foto.jpg")
        .build();
    let voice = script
        .voice_note(&maria, MediaFile::sample_ogg_opus())
        .build();
    let document = script
        .document(&maria, MediaFile::sample_pdf())
        .file_name("contrato.pdf")
        .build();
    let sticker = script.sticker(&maria, MediaFile::sample_webp()).build();
    let location = script
        .location(&maria, -23.55, -46.63)
        .name("Loja Centro")
        .build();
    let card = script
        .contact_cards(
            &maria,
            [ContactCard {
                display_name: "Carlos".into(),
                numbers: vec![ContactNumber {
                    number: "+55 11 98888-7777".into(),
                    wa_id: Some("5511988887777".into()),
                    label: None,
                }],
                vcard: None,
            }],
        )
        .build();
    let reply = script.text(&maria, "sobre isso").reply_to(&text).build();
    let reaction = script.reaction(&maria, &text, "👍").build();
    let edit = script.edit(&maria, &text, "pedido 43").build();
    let all = [
        &text, &image, &voice, &document, &sticker, &location, &card, &reply, &reaction, &edit,
    ];
    for event in all {
        product.publish(event).await;
    }
    let store = product.wait_for_messages(all.len()).await;
    let text_message = message_with_source(&store, &message_id_of(&text));

    let image_message = message_with_source(&store, &message_id_of(&image));
    assert_eq!(image_message.content.as_deref(), Some("a _foto_"));
    assert_eq!(image_message.attachments[0].filename, "foto.jpg");
    assert_eq!(image_message.attachments[0].content_type, "image/jpeg");

    let voice_message = message_with_source(&store, &message_id_of(&voice));
    assert!(voice_message.attachments[0]
        .content_type
        .starts_with("audio/ogg"));

    let document_message = message_with_source(&store, &message_id_of(&document));
    assert_eq!(document_message.attachments[0].filename, "contrato.pdf");
    assert_eq!(
        document_message.attachments[0].content_type,
        "application/pdf"
    );

    let sticker_message = message_with_source(&store, &message_id_of(&sticker));
    assert_eq!(sticker_message.attachments[0].content_type, "image/webp");

    let location_message = message_with_source(&store, &message_id_of(&location));
    let location_text = location_message.content.clone().unwrap();
    assert!(location_text.contains("Loja Centro"), "{location_text}");
    assert!(
        location_text.contains("https://www.google.com/maps/search/?api=1&query=-23.55,-46.63"),
        "{location_text}"
    );

    let card_text = message_with_source(&store, &message_id_of(&card))
        .content
        .clone()
        .unwrap();
    assert!(
        card_text.contains("Carlos") && card_text.contains("+55 11 98888-7777"),
        "{card_text}"
    );

    for (event, content) in [
        (&reply, "sobre isso"),
        (&reaction, "👍"),
        (&edit, "✏️ Edited: pedido 43"),
    ] {
        let message = message_with_source(&store, &message_id_of(event));
        assert_eq!(message.content.as_deref(), Some(content));
        assert_eq!(
            message.content_attributes.get("in_reply_to"),
            Some(&json!(text_message.id)),
            "{content} replies to the original"
        );
    }

    // A revoke deletes the Chatwoot message.
    let revoke = product.script.revoke(&maria, &text).build();
    product.publish(&revoke).await;
    let text_id = text_message.id;
    product
        .wait_for("the revoked message deleted", |store| {
            store.messages[&text_id].content.as_deref() == Some("This message was deleted")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_messages_share_one_conversation_named_after_the_group_with_each_author_shown() {
    let product = Product::start(json!({})).await;
    let (ana, bruno, group) = sales_team();
    product
        .publish(&product.script.text(group.by(&ana), "bom dia").build())
        .await;
    product
        .publish(&product.script.text(group.by(&bruno), "oi *todos*").build())
        .await;
    let store = product.wait_for_messages(2).await;
    assert_eq!(store.conversations.len(), 1);
    assert_eq!(store.contacts.len(), 1);
    assert_eq!(
        store.contacts.values().next().unwrap().name,
        "Equipe Vendas"
    );
    let contents: Vec<String> = relayed(&store)
        .iter()
        .map(|m| m.content.clone().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "**Ana** (+5521987650000):\nbom dia",
            "**Bruno** (+5531987651111):\noi **todos**"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ignore_groups_group_messages_are_dropped_and_private_ones_still_relayed() {
    let product = Product::start(json!({"ignoreGroups": true})).await;
    let ana = Contact::new("Ana", "5521987650000");
    let group = Group::new("120363025246125486@g.us", "Equipe", [ana.clone()]);
    product
        .publish(&product.script.text(group.by(&ana), "no grupo").build())
        .await;
    product
        .publish(&product.script.text(&ana, "no privado").build())
        .await;
    let store = product.wait_for_messages(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let store_after = product.chatwoot.snapshot();
    assert_eq!(relayed(&store_after).len(), 1);
    assert_eq!(relayed(&store)[0].content.as_deref(), Some("no privado"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_from_the_phone_are_outgoing_messages_and_receipts_mark_them_read() {
    let product = Product::start(json!({})).await;
    let maria = maria();
    let from_phone = product
        .script
        .text(&maria, "Seu pedido saiu")
        .outgoing()
        .build();
    product.publish(&from_phone).await;
    let store = product.wait_for_messages(1).await;
    let message = message_with_source(&store, &message_id_of(&from_phone));
    assert_eq!(message.message_type, MessageType::Outgoing);
    assert!(!message.private, "not a private note");
    assert_eq!(store.contacts.values().next().unwrap().name, "Maria Silva");

    let read = product
        .script
        .receipt(&maria, ReceiptStatus::Read, [&from_phone])
        .build();
    product.publish(&read).await;
    let id = message.id;
    product
        .wait_for("the message marked read", |store| {
            store.messages[&id].status == MessageStatus::Read
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_conversations_start_pending_when_asked() {
    let product = Product::start(json!({"startAsPending": true})).await;
    product
        .publish(&product.script.text(maria(), "oi").build())
        .await;
    let store = product.wait_for_messages(1).await;
    assert_eq!(
        store.conversations.values().next().unwrap().status,
        ConversationStatus::Pending
    );
}

async fn resolve_the_conversation(product: &Product) -> u64 {
    let store = product.chatwoot.snapshot();
    let conversation = store.conversations.values().next().unwrap();
    let answer = product
        .client
        .post(format!(
            "{}/api/v1/accounts/1/conversations/{}/toggle_status",
            product.chatwoot.base_url(),
            conversation.display_id
        ))
        .header("api_access_token", ADMIN_TOKEN)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // The bridge learns it from Chatwoot's webhook (a lost one is another test's case:
    // `chatwoot_calls`).
    product
        .wait_for_webhook_delivered("conversation_status_changed", 1)
        .await;
    conversation.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_conversation_is_not_reused_unless_reopen_resolved_is_on() {
    for (reopen, expected_conversations) in [(false, 2), (true, 1)] {
        let product = Product::start(json!({"reopenResolved": reopen})).await;
        product
            .publish(&product.script.text(maria(), "primeira").build())
            .await;
        product.wait_for_messages(1).await;
        let first = resolve_the_conversation(&product).await;
        product
            .publish(&product.script.text(maria(), "segunda").build())
            .await;
        let store = product.wait_for_messages(2).await;
        assert_eq!(
            store.conversations.len(),
            expected_conversations,
            "reopenResolved {reopen}"
        );
        let expected_first = if reopen {
            ConversationStatus::Open
        } else {
            ConversationStatus::Resolved
        };
        assert_eq!(
            store.conversations[&first].status, expected_first,
            "reopenResolved {reopen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_chatwoot_refuses_is_counted_and_shown_as_last_error_without_blocking_the_chat() {
    let product = Product::start(json!({})).await;
    let maria = maria();
    // Chatwoot refuses content over 150,000 characters (422): not retried.
    product
        .publish(&product.script.text(&maria, "x".repeat(150_001)).build())
        .await;
    product
        .publish(&product.script.text(&maria, "depois").build())
        .await;
    let store = product.wait_for_messages(1).await;
    assert_eq!(relayed(&store)[0].content.as_deref(), Some("depois"));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let status = product.status().await;
        if status["counters"]["failed"] == 1 || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status["counters"]["failed"], 1, "{status}");
    assert_eq!(status["counters"]["relayed"], 1, "{status}");
    assert!(
        status["last_error"].as_str().unwrap().contains("422"),
        "{status}"
    );
    assert_eq!(status["connection"], "connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_sent_without_its_bytes_is_fetched_through_the_api_media_endpoint() {
    let product = Product::start(json!({})).await;
    let voice = product
        .script
        .voice_note(maria(), MediaFile::sample_ogg_opus())
        .without_inline_bytes()
        .build();
    product.publish(&voice).await;
    let store = product.wait_for_messages(1).await;
    let message = message_with_source(&store, &message_id_of(&voice));
    assert_eq!(message.attachments.len(), 1);
    assert!(message.attachments[0].content_type.starts_with("audio/ogg"));
    assert_eq!(
        message.attachments[0].byte_size,
        MediaFile::sample_ogg_opus().bytes.len(),
        "the whole file, fetched from the engine through the API"
    );
}
