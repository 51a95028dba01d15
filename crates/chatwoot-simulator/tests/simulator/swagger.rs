//! Validates response bodies against the response schemas of the vendored
//! Chatwoot OpenAPI 3.1 file (`contracts/chatwoot-swagger.json` in this crate, see
//! `contracts/README.md` for its provenance), with
//! `$ref`s resolved against its `components`, using the `jsonschema` crate.
//!
//! Where the spec and Chatwoot's jbuilder views disagree, the simulator follows
//! the views; [`KNOWN_SPEC_NULLS`] lists the fields the spec types as non-null
//! although the views render `null` for API inboxes (see the crate README).

use serde_json::{json, Value};
use std::sync::OnceLock;

/// Fields the spec declares as plain strings that Chatwoot renders as `null`
/// for an API-channel inbox (`resource.channel.try(:website_url)` etc.).
pub(crate) const KNOWN_SPEC_NULLS: &[&str] = &[
    // inbox: web-widget columns, nil on an API channel
    "website_url",
    "widget_color",
    "website_token",
    "web_widget_script",
    "reply_time",
    // inbox_slim: `channel.try(:provider)`, nil for API channels
    "provider",
    // contact: optional columns
    "email",
    "phone_number",
    "identifier",
    // message: nil for attachment-only messages
    "content",
];

fn swagger() -> &'static Value {
    static SWAGGER: OnceLock<Value> = OnceLock::new();
    SWAGGER.get_or_init(|| {
        // Vendored in the crate (`contracts/README.md`); CHATWOOT_SWAGGER_PATH checks
        // another copy (a newer Chatwoot release) instead.
        let path = std::env::var("CHATWOOT_SWAGGER_PATH").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/contracts/chatwoot-swagger.json"
            )
            .to_owned()
        });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!("read {path} (the vendored Chatwoot OpenAPI file): {error}")
        });
        serde_json::from_str(&text).expect("swagger is JSON")
    })
}

/// Makes the listed property names nullable wherever a schema declares them.
fn relax(schema: &mut Value) {
    match schema {
        Value::Object(fields) => {
            if let Some(Value::Object(properties)) = fields.get_mut("properties") {
                for (name, property) in properties.iter_mut() {
                    if KNOWN_SPEC_NULLS.contains(&name.as_str()) {
                        if let Some(Value::String(kind)) = property.get("type").cloned() {
                            property["type"] = json!([kind, "null"]);
                        }
                    }
                }
            }
            for value in fields.values_mut() {
                relax(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax),
        _ => {}
    }
}

/// The schema of `method path` → `status` (JSON body).
fn response_schema(method: &str, path: &str, status: u16) -> Value {
    swagger()["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"]
        .clone()
}

/// Asserts `body` matches the documented response schema.
pub(crate) fn assert_matches(method: &str, path: &str, status: u16, body: &Value) {
    let schema = response_schema(method, path, status);
    assert!(!schema.is_null(), "no schema for {method} {path} {status}");
    let mut root = schema;
    let mut components = swagger()["components"].clone();
    relax(&mut components);
    relax(&mut root);
    if let Value::Object(fields) = &mut root {
        fields.insert("components".into(), components);
        fields.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
    }
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match the spec:\n{}\nbody: {body:#}",
        errors.join("\n")
    );
}
