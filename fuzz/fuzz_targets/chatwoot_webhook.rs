//! A Chatwoot webhook body as the bridge reads it: the receiver's parse and triage, the
//! worker's ordering key (the conversation of the one reading), and the agent's text converted for WhatsApp.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ryze_bridge_use_cases::AgentMessage;
use ryze_domain::message_formatting::chatwoot_to_whatsapp;

fuzz_target!(|body: &[u8]| {
    if let Ok(message) = AgentMessage::parse(body) {
        // What the worker orders the webhook by.
        let _ = message.conversation;
        let _ = message.triage();
        let _ = chatwoot_to_whatsapp(&message.content);
    }
});
