//! Any WhatsApp text converts into Chatwoot markdown without panicking, and text holding
//! no formatting character comes back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ryze_domain::message_formatting::{signed_for_whatsapp, whatsapp_to_chatwoot};

fuzz_target!(|text: &str| {
    let converted = whatsapp_to_chatwoot(text);
    if !text.contains(['*', '_', '~', '`']) {
        assert_eq!(converted, text);
    }
    let _ = signed_for_whatsapp(text, text);
});
