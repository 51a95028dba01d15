//! Any Chatwoot markdown converts into a WhatsApp text without panicking, and text holding
//! no formatting character comes back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ryze_domain::message_formatting::chatwoot_to_whatsapp;

fuzz_target!(|text: &str| {
    let converted = chatwoot_to_whatsapp(text);
    if !text.contains(['*', '_', '~', '`', '\\', '[']) {
        assert_eq!(converted, text);
    }
});
