//! Mocked engines (`ryze_ports::MockWhatsAppSender`) for the message endpoints' tests.

use ryze_domain::InstanceId;
use ryze_ports::whatsapp_events::{EngineReceipt, SendMedia};
use ryze_ports::{MockWhatsAppSender, SendError};

/// An engine that sends one media message, for which `expected` holds, answering
/// `receipt`.
pub fn engine_sending_one_media_where(
    expected: impl Fn(&InstanceId, &SendMedia) -> bool + Send + 'static,
    receipt: EngineReceipt,
) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_media()
        .withf(move |instance, command| expected(instance, command))
        .times(1)
        .returning(move |_, _| Ok(receipt.clone()));
    whatsapp
}

/// An engine refusing every text, media message and reaction with `error`. Add
/// expectations for anything else a test needs.
pub fn engine_refusing_sends_with(error: SendError) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    let refusal = error.clone();
    whatsapp
        .expect_send_text()
        .returning(move |_, _| Err(refusal.clone()));
    let refusal = error.clone();
    whatsapp
        .expect_send_media()
        .returning(move |_, _| Err(refusal.clone()));
    whatsapp
        .expect_send_reaction()
        .returning(move |_, _| Err(error.clone()));
    whatsapp
}
