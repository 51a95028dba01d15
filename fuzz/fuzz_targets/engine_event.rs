//! The engine's event envelope as the API's ingest reads it (`POST /engine/events`:
//! `parse_json` in `ryze-api-server`): only a JSON object, deserialised through
//! `serde_path_to_error`. Whatever parses must print (`Debug` redacts media) and must
//! re-serialise into JSON that parses back to the same envelope, since the API forwards
//! it so to the bridge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ryze_ports::whatsapp_events::EventEnvelope;

fuzz_target!(|body: &[u8]| {
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let Ok(envelope) = serde_path_to_error::deserialize::<_, EventEnvelope>(&mut deserializer)
    else {
        return;
    };
    let _ = format!("{envelope:?}");
    let forwarded = serde_json::to_vec(&envelope).expect("a parsed envelope serialises");
    let reparsed: EventEnvelope =
        serde_json::from_slice(&forwarded).expect("a forwarded envelope parses");
    assert_eq!(reparsed, envelope, "the envelope changed on its way through the API");
});
