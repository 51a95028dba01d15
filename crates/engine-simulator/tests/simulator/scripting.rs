//! The scripting API's events: each one written as JSON and read back through the
//! contract's types gives the same event, and follows the contract's rules for its kind
//! (docs/engine-contract.md §2–§4).

use std::collections::HashSet;

use base64::Engine as _;
use engine_simulator::ids::is_valid_message_id;
use engine_simulator::script::{Contact, EventScript, Group};
use engine_simulator::MediaFile;
use ryze_ports::whatsapp_events::{
    ChatType, ConnectionState, Direction, EventEnvelope, EventPayload, MediaKind, MessageBody,
    ReceiptStatus, WhatsAppMessage,
};
use serde_json::{json, Value};

use crate::common::{get_media, simulator, INSTANCE};

fn maria() -> Contact {
    Contact::new("Maria Silva", "5511987654321").with_lid("123456789012345")
}

fn script() -> EventScript {
    EventScript::new(INSTANCE)
}

/// Writes the event as JSON, reads it back through the contract types, checks nothing
/// changed, and returns the JSON.
fn round_trip(event: &EventEnvelope) -> Value {
    let json = serde_json::to_value(event).unwrap();
    let parsed: EventEnvelope = serde_json::from_value(json.clone())
        .unwrap_or_else(|error| panic!("does not parse back: {error}\n{json:#}"));
    assert_eq!(&parsed, event, "{json:#}");
    assert_eq!(
        json["instanceData"],
        json!({"baseUrl": "", "instance": INSTANCE})
    );
    json
}

fn message_of(event: &EventEnvelope) -> &WhatsAppMessage {
    match &event.payload {
        EventPayload::MessageExchange(exchange) => {
            assert_eq!(
                exchange.id, exchange.message.id,
                "data.id is the message id"
            );
            &exchange.message
        }
        other => panic!("not a message: {other:?}"),
    }
}

#[test]
fn a_text_keeps_its_formatting_and_carries_both_ids_of_the_contact() {
    let event = script()
        .text(maria(), "Olá! *Urgente*: _pedido_ ~4512~")
        .build();
    let json = round_trip(&event);
    let message = &json["data"]["message"];
    assert_eq!(json["event"], "message.exchange");
    assert_eq!(message["type"], "text");
    assert_eq!(message["direction"], "incoming");
    assert_eq!(
        message["content"]["text"],
        "Olá! *Urgente*: _pedido_ ~4512~"
    );
    let contact = json!({"jid": "5511987654321@s.whatsapp.net", "lid": "123456789012345@lid", "name": "Maria Silva"});
    assert_eq!(message["sender"], contact);
    let mut chat = contact.clone();
    chat["type"] = json!("private");
    assert_eq!(message["chat"], chat);
    assert!(message.get("isEdit").is_none());
    let id = message["id"].as_str().unwrap();
    assert!(is_valid_message_id(id), "{id}");
    assert!(message["timestamp"].as_i64().unwrap() > 1_700_000_000);
}

#[test]
fn ids_are_unique_unless_given_and_times_can_be_set() {
    let ids: HashSet<String> = (0..200)
        .map(|_| message_of(&script().text(maria(), "x").build()).id.clone())
        .collect();
    assert_eq!(ids.len(), 200);
    let event = script()
        .text(maria(), "x")
        .id("3EB0C431D5A7B2F1A9E0C1")
        .at(1_718_000_100)
        .build();
    let message = message_of(&event);
    assert_eq!(message.id, "3EB0C431D5A7B2F1A9E0C1");
    assert_eq!(message.timestamp, 1_718_000_100);
}

#[test]
fn contacts_known_by_legacy_numbers_or_only_by_lid_appear_as_such() {
    let legacy = Contact::new("Maria", "5511987654321").with_legacy_brazilian_number();
    let json = round_trip(&script().text(&legacy, "oi").build());
    assert_eq!(
        json["data"]["message"]["sender"]["jid"],
        "551187654321@s.whatsapp.net"
    );
    let hidden = Contact::hidden("Maria", "123456789012345@lid");
    let json = round_trip(&script().text(&hidden, "oi").build());
    assert_eq!(
        json["data"]["message"]["chat"],
        json!({"lid": "123456789012345@lid", "name": "Maria", "type": "private"})
    );
    assert!(json["data"]["message"]["sender"].get("jid").is_none());
}

#[test]
fn every_media_kind_carries_its_bytes_inline_with_type_mimetype_and_size() {
    let cases = [
        (MediaKind::Image, "image", "image/jpeg"),
        (MediaKind::Video, "video", "video/mp4"),
        (MediaKind::Audio, "audio", "audio/mpeg"),
        (MediaKind::Ptt, "ptt", "audio/ogg; codecs=opus"),
        (MediaKind::Ptv, "ptv", "video/mp4"),
        (MediaKind::Document, "document", "application/pdf"),
        (MediaKind::Sticker, "sticker", "image/webp"),
    ];
    for (kind, type_name, mimetype) in cases {
        let file = MediaFile::sample_for(kind);
        let event = script().media(maria(), kind, file.clone()).build();
        let json = round_trip(&event);
        let message = &json["data"]["message"];
        assert_eq!(message["type"], type_name);
        let media = &message["media"];
        assert_eq!(media["type"], type_name);
        assert_eq!(media["mimetype"], mimetype);
        assert_eq!(media["size"], file.bytes.len());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(media["base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(bytes, file.bytes, "{type_name}");
        assert!(message.get("content").is_none(), "media have no content");
    }
}

#[test]
fn the_named_media_builders_choose_the_documented_types() {
    let script = script();
    let file = MediaFile::sample_jpeg;
    let built = [
        (script.image(maria(), file()).build(), "image"),
        (script.video(maria(), file()).build(), "video"),
        (script.audio(maria(), file()).build(), "audio"),
        (script.voice_note(maria(), file()).build(), "ptt"),
        (script.video_note(maria(), file()).build(), "ptv"),
        (script.document(maria(), file()).build(), "document"),
        (script.sticker(maria(), file()).build(), "sticker"),
    ];
    for (event, type_name) in built {
        assert_eq!(message_of(&event).type_name(), type_name);
        round_trip(&event);
    }
}

#[test]
fn captions_file_names_durations_and_urls_are_carried() {
    let event = script()
        .document(maria(), MediaFile::sample_pdf())
        .caption("Segue a nota")
        .file_name("nota-fiscal-4512.pdf")
        .build();
    let json = round_trip(&event);
    let media = &json["data"]["message"]["media"];
    assert_eq!(media["caption"], "Segue a nota");
    assert_eq!(media["fileName"], "nota-fiscal-4512.pdf");
    let event = script()
        .voice_note(maria(), MediaFile::sample_ogg_opus())
        .seconds(380)
        .without_inline_bytes()
        .url("https://engine.internal/media/x.ogg")
        .build();
    let media = &round_trip(&event)["data"]["message"]["media"];
    assert_eq!(media["seconds"], 380);
    assert!(media.get("base64").is_none());
    assert_eq!(media["url"], "https://engine.internal/media/x.ogg");
}

#[tokio::test]
async fn media_without_inline_bytes_is_served_by_the_simulator_that_made_the_script() {
    let simulator = simulator().await;
    let video = MediaFile::sample_mp4();
    let event = simulator
        .script(INSTANCE)
        .video(maria(), video.clone())
        .caption("Unboxing")
        .without_inline_bytes()
        .build();
    let message = message_of(&event);
    let MessageBody::Media(media) = &message.body else {
        panic!("not media");
    };
    assert!(media.base64.is_none());
    let (status, download) = get_media(&simulator, INSTANCE, &message.id).await;
    assert_eq!(status, 200, "{download}");
    assert_eq!(download["base64"], video.base64());
    assert_eq!(download["mimetype"], "video/mp4");
}

#[test]
fn large_files_are_not_inlined_unless_asked() {
    let big = MediaFile::new(vec![0u8; 5 * 1024 * 1024 + 1], "video/mp4");
    let event = script().video(maria(), big.clone()).build();
    let json = round_trip(&event);
    assert!(json["data"]["message"]["media"].get("base64").is_none());
    assert_eq!(json["data"]["message"]["media"]["size"], big.bytes.len());
    let event = script().video(maria(), big).with_inline_bytes().build();
    assert!(round_trip(&event)["data"]["message"]["media"]
        .get("base64")
        .is_some());
}

#[test]
fn a_location_carries_its_place() {
    let event = script()
        .location(maria(), -23.5613, -46.6565)
        .name("MASP")
        .address("Av. Paulista, 1578")
        .url("https://masp.org.br")
        .build();
    let json = round_trip(&event);
    assert_eq!(json["data"]["message"]["type"], "location");
    assert_eq!(
        json["data"]["message"]["location"],
        json!({"latitude": -23.5613, "longitude": -46.6565, "name": "MASP", "address": "Av. Paulista, 1578", "url": "https://masp.org.br"})
    );
    let live = round_trip(&script().location(maria(), 1.5, 2.5).live().build());
    assert_eq!(live["data"]["message"]["location"]["live"], true);
}

#[test]
fn contact_cards_name_whatsapp_users() {
    let joao = Contact::new("João Souza", "5511977776666");
    let ana = Contact::new("Ana Lima", "5521988881111");
    let event = script()
        .contact_cards(maria(), [joao.card(), ana.card()])
        .build();
    let json = round_trip(&event);
    let message = &json["data"]["message"];
    assert_eq!(message["type"], "contact");
    assert_eq!(message["contacts"][0]["displayName"], "João Souza");
    assert_eq!(
        message["contacts"][0]["numbers"][0]["waId"],
        "5511977776666"
    );
    assert_eq!(message["contacts"][1]["displayName"], "Ana Lima");
    assert!(message["contacts"][0]["vcard"]
        .as_str()
        .unwrap()
        .starts_with("BEGIN:VCARD"));
}

#[test]
fn a_reply_quotes_its_target_with_author_type_and_text() {
    let question = script()
        .text(maria(), "Pode mandar uma foto da etiqueta?")
        .outgoing()
        .build();
    let reply = script()
        .image(maria(), MediaFile::sample_jpeg())
        .caption("Aqui está a etiqueta")
        .reply_to(&question)
        .build();
    let json = round_trip(&reply);
    let quoted = &json["data"]["message"]["quoted"];
    assert_eq!(quoted["id"], message_of(&question).id);
    assert_eq!(quoted["type"], "text");
    assert_eq!(quoted["text"], "Pode mandar uma foto da etiqueta?");
    assert_eq!(quoted["sender"]["name"], "Loja Simulada");
    let by_id = script()
        .text(maria(), "isso")
        .reply_to("3EB0A1B2C3D4E5F6A7B8C9")
        .build();
    assert_eq!(
        round_trip(&by_id)["data"]["message"]["quoted"],
        json!({"id": "3EB0A1B2C3D4E5F6A7B8C9"})
    );
}

#[test]
fn reactions_edits_and_revokes_point_at_their_target_with_their_own_id() {
    let original = script()
        .text(maria(), "Meu pedido ainda não chegou.")
        .build();
    let target = message_of(&original).id.clone();

    let reaction = script().reaction(maria(), &original, "👍").build();
    let json = round_trip(&reaction);
    assert_eq!(json["data"]["message"]["type"], "reaction");
    assert_eq!(
        json["data"]["message"]["reaction"],
        json!({"targetId": target, "emoji": "👍"})
    );
    assert_ne!(message_of(&reaction).id, target);
    let removal = round_trip(&script().reaction(maria(), &original, "").build());
    assert_eq!(removal["data"]["message"]["reaction"]["emoji"], "");

    let edit = script()
        .edit(maria(), &original, "Meu pedido 4512 ainda não chegou.")
        .build();
    let json = round_trip(&edit);
    let message = &json["data"]["message"];
    assert_eq!(message["type"], "message_edit");
    assert_eq!(message["isEdit"], true);
    assert_eq!(
        message["edit"],
        json!({"targetId": target, "content": {"text": "Meu pedido 4512 ainda não chegou."}})
    );
    assert_ne!(message_of(&edit).id, target);

    let revoke = script().revoke(maria(), target.clone()).build();
    let json = round_trip(&revoke);
    assert_eq!(json["data"]["message"]["type"], "message_revoke");
    assert_eq!(
        json["data"]["message"]["revoke"],
        json!({"targetId": target})
    );
    assert!(json["data"]["message"].get("isEdit").is_none());
}

#[test]
fn group_messages_come_from_their_participants_in_the_group_chat() {
    let carlos = Contact::new("Carlos", "5521999990000").with_lid("555666777888999");
    let bia = Contact::new("Bia", "5521988887777");
    let vip = Group::new(
        "120363025246125486@g.us",
        "Clientes VIP",
        [carlos.clone(), bia.clone()],
    );
    let from_carlos = round_trip(
        &script()
            .text(vip.by(&carlos), "Alguém sabe o horário de sábado?")
            .build(),
    );
    let from_bia = round_trip(
        &script()
            .sticker(vip.by(&bia), MediaFile::sample_webp())
            .build(),
    );
    for (json, author) in [(&from_carlos, &carlos), (&from_bia, &bia)] {
        let message = &json["data"]["message"];
        assert_eq!(
            message["chat"],
            json!({"jid": "120363025246125486@g.us", "name": "Clientes VIP", "type": "group"})
        );
        assert_eq!(
            message["sender"],
            serde_json::to_value(author.participant()).unwrap()
        );
    }
    // Without a named author, the first participant writes.
    let anonymous = script().text(&vip, "oi").build();
    assert_eq!(message_of(&anonymous).sender, carlos.participant());
    assert_eq!(message_of(&anonymous).chat.kind, ChatType::Group);
    // An admin revoking someone else's message.
    let revoke = script()
        .revoke(vip.by(&carlos), "3EB0606060ABCDEF0123")
        .sent_by(&bia)
        .build();
    assert_eq!(message_of(&revoke).sender, bia.participant());
}

#[test]
fn messages_sent_from_the_phone_are_outgoing_from_the_own_account_to_the_peer() {
    let own = Contact::new("Loja Orion", "5511988887777").with_lid("987654321098765");
    let script = script().with_own_account(own.clone());
    let event = script
        .text(maria(), "Oi Maria, chega amanhã.")
        .outgoing()
        .build();
    let json = round_trip(&event);
    let message = &json["data"]["message"];
    assert_eq!(message["direction"], "outgoing");
    assert_eq!(
        message["sender"],
        serde_json::to_value(own.participant()).unwrap()
    );
    assert_eq!(message["chat"]["jid"], "5511987654321@s.whatsapp.net");
    let group = Group::random("Equipe", [maria()]);
    let in_group = script
        .document(&group, MediaFile::sample_pdf())
        .outgoing()
        .build();
    let message = message_of(&in_group);
    assert_eq!(message.direction, Direction::Outgoing);
    assert_eq!(message.sender, own.participant());
    assert_eq!(message.chat.jid.as_deref(), Some(group.jid()));
}

#[test]
fn receipts_name_the_messages_their_chat_and_in_groups_the_participant() {
    let sent = script().text(maria(), "a").outgoing().build();
    let event = script()
        .receipt(maria(), ReceiptStatus::Read, [&sent])
        .at(1_718_000_700)
        .build();
    let json = round_trip(&event);
    assert_eq!(json["event"], "message.status");
    assert_eq!(json["data"]["ids"], json!([message_of(&sent).id]));
    assert_eq!(json["data"]["status"], "read");
    assert_eq!(json["data"]["timestamp"], 1_718_000_700);
    assert_eq!(json["data"]["chat"]["type"], "private");
    assert!(json["data"].get("participant").is_none());

    let carlos = Contact::new("Carlos", "5521999990000");
    let vip = Group::new("120363025246125486", "Clientes VIP", [carlos.clone()]);
    let event = script()
        .receipt(
            vip.by(&carlos),
            "delivered",
            ["3EB0606060ABCDEF0999", "3EB0606060ABCDEF0998"],
        )
        .build();
    let json = round_trip(&event);
    assert_eq!(json["data"]["ids"].as_array().unwrap().len(), 2);
    assert_eq!(json["data"]["chat"]["jid"], "120363025246125486@g.us");
    assert_eq!(
        json["data"]["participant"]["jid"],
        "5521999990000@s.whatsapp.net"
    );
    let self_read = script()
        .receipt(maria(), ReceiptStatus::ReadSelf, ["3A5F0E2B9C8D7A6B5C4D"])
        .without_chat()
        .build();
    let json = round_trip(&self_read);
    assert_eq!(json["data"]["status"], "read_self");
    assert!(json["data"].get("chat").is_none());
}

#[test]
fn instance_state_changes_carry_me_when_connected_and_a_reason_otherwise() {
    let connected = round_trip(&script().connected());
    assert_eq!(connected["event"], "instance.state");
    assert_eq!(connected["data"]["state"], "connected");
    assert_eq!(
        connected["data"]["me"]["jid"],
        "5511988887777@s.whatsapp.net"
    );
    let gone = round_trip(&script().disconnected("logged_out"));
    assert_eq!(gone["data"]["state"], "disconnected");
    assert_eq!(gone["data"]["reason"], "logged_out");
    assert!(gone["data"].get("me").is_none());
    let event = script()
        .instance_state(ConnectionState::Connecting)
        .reason("network")
        .at(1_718_000_810)
        .build();
    assert_eq!(
        round_trip(&event)["data"],
        json!({"state": "connecting", "reason": "network", "timestamp": 1_718_000_810})
    );
}

#[test]
fn other_types_and_events_are_kept_as_the_contract_says() {
    let mut poll = serde_json::Map::new();
    poll.insert(
        "poll".into(),
        json!({"question": "Melhor dia?", "options": ["sexta", "sábado"]}),
    );
    let event = script().unsupported(maria(), "poll", poll).build();
    let json = round_trip(&event);
    assert_eq!(json["data"]["message"]["type"], "poll");
    assert_eq!(json["data"]["message"]["poll"]["question"], "Melhor dia?");
    assert!(matches!(
        message_of(&event).body,
        MessageBody::Unsupported { .. }
    ));
    let flow = script().other_event(
        "group.flow",
        json!({"group": "120363025246125486@g.us", "action": "add"}),
    );
    assert_eq!(round_trip(&flow)["data"]["action"], "add");
}

#[test]
fn calls_name_their_caller_and_in_a_group_the_group() {
    let call = script().call(maria(), "5C4B3A29F1E0D8C7", "offer").build();
    let json = round_trip(&call);
    assert_eq!(json["event"], "call.update");
    assert_eq!(json["data"]["id"], "5C4B3A29F1E0D8C7");
    assert_eq!(json["data"]["from"], "5511987654321@s.whatsapp.net");
    assert_eq!(json["data"]["status"], "offer");
    assert_eq!(json["data"]["video"], false);
    assert!(json["data"].get("group").is_none());

    let carlos = Contact::new("Carlos", "5521999990000");
    let vip = Group::new("120363025246125486", "Clientes VIP", [carlos.clone()]);
    let in_group = script()
        .call(vip.by(&carlos), "7A1B2C3D4E5F6071", "timeout")
        .video()
        .build();
    let json = round_trip(&in_group);
    assert_eq!(json["data"]["from"], "5521999990000@s.whatsapp.net");
    assert_eq!(json["data"]["fromName"], "Carlos");
    assert_eq!(json["data"]["video"], true);
    assert_eq!(json["data"]["group"]["jid"], "120363025246125486@g.us");
    assert_eq!(json["data"]["group"]["name"], "Clientes VIP");
}
