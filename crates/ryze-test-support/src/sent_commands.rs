//! What the tests of the two [`WhatsAppSender`] clients (`ryze-api-engine-client`,
//! `ryze-bridge-message-client`) send: the instance, an agent's text, a voice note and a
//! reaction in a group, each as the contract examples write them, and (with the
//! `wiremock` feature) a fake service answering every request of a method alike.
//!
//! [`WhatsAppSender`]: ryze_ports::WhatsAppSender

use ryze_domain::InstanceId;
use ryze_ports::whatsapp_events::{
    MediaData, MediaSource, OutgoingMediaType, SendMedia, SendReaction, SendText,
};

/// The instance every command goes to.
pub const SENDING_INSTANCE_ID: &str = "ins_01J9Z8Y7X6W5V4";

/// [`SENDING_INSTANCE_ID`] as an id.
pub fn sending_instance() -> InstanceId {
    InstanceId::new(SENDING_INSTANCE_ID)
}

/// An agent's signed reply to a contact, quoting `reply_to`, under the id `id`.
pub fn agent_text(reply_to: Option<&str>, id: Option<&str>) -> SendText {
    SendText {
        number: "5511987654321@s.whatsapp.net".into(),
        message: "*Ana (suporte)*:\nSeu pedido sai hoje.".into(),
        reply_to: reply_to.map(str::to_owned),
        id: id.map(str::to_owned),
    }
}

/// A voice note (`resposta.ogg`, inline base64) to a bare number, under the id `id`.
pub fn voice_note(id: &str) -> SendMedia {
    SendMedia {
        number: "5511987654321".into(),
        media_type: OutgoingMediaType::Audio,
        source: MediaSource::Base64(MediaData::new("T2dnUwACAAAAAAAAAAA=")),
        message: None,
        mime_type: Some("audio/ogg; codecs=opus".into()),
        file_name: Some("resposta.ogg".into()),
        is_voice: true,
        reply_to: None,
        id: Some(id.into()),
    }
}

/// A ❤️ on someone else's message `3EB0606060ABCDEF0123` in a group, under the id `id`.
pub fn group_reaction(id: Option<&str>) -> SendReaction {
    SendReaction {
        number: "120363025246125486@g.us".into(),
        message_id: "3EB0606060ABCDEF0123".into(),
        reaction: "❤️".into(),
        from_me: false,
        participant: Some("5521999990000@s.whatsapp.net".into()),
        id: id.map(str::to_owned),
    }
}

/// A fake service that answers `answer` to every request with the method `method`.
#[cfg(feature = "wiremock")]
pub async fn service_answering_every(
    method: &str,
    answer: wiremock::ResponseTemplate,
) -> wiremock::MockServer {
    let service = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method(method))
        .respond_with(answer)
        .mount(&service)
        .await;
    service
}

/// What a sender must do when its service accepts a text but names no message id: keep
/// the id the text asked for (`requested`), and without one fail as `WhatsAppFailed`
/// saying the answer names no messageId. `text` makes the text with the id it is given.
pub async fn check_a_send_answered_without_an_id(
    sender: &dyn ryze_ports::WhatsAppSender,
    text: fn(Option<&str>) -> SendText,
    requested: &str,
) {
    let instance = sending_instance();
    let receipt = sender.send_text(&instance, text(Some(requested))).await;
    assert_eq!(
        receipt.map(|receipt| receipt.message_id),
        Ok(Some(requested.to_owned()))
    );
    let error = sender.send_text(&instance, text(None)).await;
    assert!(
        matches!(&error, Err(ryze_ports::SendError::WhatsAppFailed { detail }) if detail.contains("names no messageId")),
        "{error:?}"
    );
}
