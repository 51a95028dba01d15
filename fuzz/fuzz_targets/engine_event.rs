//! The engine's event envelope as the API's ingest reads it (`POST /engine/events`:
//! `parse_json` in `ryze-api-server`): only a JSON object, deserialised through
//! `serde_path_to_error`. Whatever parses must print (`Debug` redacts media) and must
//! re-serialise into JSON that parses again, since the API forwards it so to the bridge;
//! forwarding is stable: a forwarded envelope forwards as the same JSON. (Not equal to
//! the first parse: the header of an unsupported message is written from its typed
//! fields, so unknown fields inside `chat` or `sender` are dropped, as everywhere.)
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
    let forwarded_again = serde_json::to_vec(&reparsed).expect("a parsed envelope serialises");
    assert_eq!(
        String::from_utf8_lossy(&forwarded_again),
        String::from_utf8_lossy(&forwarded),
        "forwarding changed the envelope a second time"
    );
});
