//! The message endpoints over actix-web (in process): statuses and envelopes of each
//! route, who may call them (account and instance tokens by instance name, the bridge by
//! instance id), the rate limiter the bridge skips, body limits, and a `mediaUrl` fetched
//! from a local server through the real guarded fetcher.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, App};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ryze_api_rate_limit_memory::InMemoryRateLimiter;
use ryze_api_server::{
    ApiState, EventHubRoutes, MediaWorkLimit, RateLimits, MEDIA_BODY_LIMIT_BYTES,
};
use ryze_api_use_cases::{Budgets, ControlPlane, Messaging, MessagingEngine, MessagingSettings};
use ryze_domain::{Instance, Principal, TokenHash};
use ryze_outbound_address_guard::AddressPolicy;
use ryze_outbound_media_fetcher::{GuardedMediaFetcher, MediaFetcherSettings};
use ryze_ports::whatsapp_events::{
    EngineReceipt, MediaData, MediaDownload, MediaSource, SendMedia,
};
use ryze_ports::{
    MediaFetcher, MockMediaFetcher, MockSecretVault, MockStore, MockWhatsAppSender, SendError,
    WhatsAppSender,
};
use ryze_test_support::control_plane::{AccountBuilder, InstanceBuilder};
use ryze_test_support::mock_engines::{engine_refusing_sends_with, engine_sending_one_media_where};
use ryze_test_support::mock_stores::{store_with_suporte_and_vendas, with_integrations_on};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT_TOKEN: &str = "ryzeacc_account-token-for-tests";
const INSTANCE_TOKEN: &str = "ryzeins_instance-token-for-tests";
const BRIDGE_TOKEN: &str = "bridge-token-for-tests-0123456789abcdef";
const SENT_ID: &str = "3EB0F1E2D3C4B5A6978877";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02";

fn instance(account: &str, name: &str) -> Instance {
    InstanceBuilder::new(account, name).build()
}

/// `acc_1` owns `suporte` (with an instance token); `acc_2` owns `vendas`; both have a
/// Chatwoot integration.
fn store() -> MockStore {
    let mut store = store_with_suporte_and_vendas();
    with_integrations_on(&mut store, &["ins_suporte", "ins_vendas"]);
    store
        .expect_find_principal_by_token_hash()
        .returning(|hash| {
            Ok(if *hash == TokenHash::of(ACCOUNT_TOKEN) {
                Some(AccountBuilder::default().principal())
            } else if *hash == TokenHash::of(INSTANCE_TOKEN) {
                Some(Principal::Instance(instance("acc_1", "suporte")))
            } else {
                None
            })
        });
    store
}

fn state_with(
    whatsapp: Option<MockWhatsAppSender>,
    fetcher: Arc<dyn MediaFetcher>,
    per_minute: u32,
) -> ApiState {
    let control_plane = ControlPlane::new(
        Arc::new(store()),
        Arc::new(MockSecretVault::new()),
        None,
        Budgets::default(),
    );
    let messaging = Messaging::new(
        control_plane.clone(),
        whatsapp.map(|whatsapp| MessagingEngine {
            whatsapp: Arc::new(whatsapp) as Arc<dyn WhatsAppSender>,
            media_fetcher: fetcher,
        }),
        MessagingSettings::default(),
    );
    ApiState {
        control_plane,
        rate_limiter: Arc::new(InMemoryRateLimiter::new()),
        rate_limits: RateLimits::per_minute(per_minute, per_minute),
        body_limit_bytes: ryze_api_server::DEFAULT_BODY_LIMIT_BYTES,
        event_hub: EventHubRoutes {
            bridge_token: Some(SecretString::from(BRIDGE_TOKEN)),
            ..Default::default()
        },
        messaging,
        media_work: MediaWorkLimit::default(),
        relay_metrics: ryze_ports::no_relay_metrics(),
    }
}

fn state(whatsapp: MockWhatsAppSender) -> ApiState {
    state_with(Some(whatsapp), Arc::new(MockMediaFetcher::new()), 100)
}

/// The API's routes over `state`, in process.
macro_rules! app {
    ($state:expr) => {
        test::init_service(App::new().configure(ryze_api_server::configure_api($state))).await
    };
}

fn receipt() -> EngineReceipt {
    EngineReceipt {
        message_id: Some(SENT_ID.into()),
        timestamp: Some(1_718_000_900),
    }
}

fn text_body() -> Value {
    json!({"number": "5511912345678", "message": "Olá"})
}

fn post(uri: &str, token: Option<&str>, body: &Value) -> test::TestRequest {
    let request = test::TestRequest::post().uri(uri).set_json(body);
    match token {
        Some(token) => request.insert_header(("authorization", format!("Bearer {token}"))),
        None => request,
    }
}

/// `post` with the account's token.
fn account_post(uri: &str, body: &Value) -> test::TestRequest {
    post(uri, Some(ACCOUNT_TOKEN), body)
}

/// A GET of `uri` with the account's token, in the `token` header.
fn account_get(uri: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header(("token", ACCOUNT_TOKEN))
}

/// An engine that sends one media message, for which `expected` holds.
fn engine_sending_media_where(
    expected: impl Fn(&SendMedia) -> bool + Send + 'static,
) -> MockWhatsAppSender {
    engine_sending_one_media_where(move |_, command| expected(command), receipt())
}

/// Status, JSON body, and whether the three rate-limit headers are present.
async fn answer<S, R>(app: &S, request: R) -> (StatusCode, Value, bool)
where
    S: Service<R, Response = ServiceResponse, Error = actix_web::Error>,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let limited = response.headers().contains_key("x-ratelimit-limit")
        && response.headers().contains_key("x-ratelimit-remaining")
        && response.headers().contains_key("x-ratelimit-reset");
    let body = test::read_body(response).await;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, value, limited)
}

/// Sends a `TestRequest` to the app and reads its [`answer`].
macro_rules! ask {
    ($app:expr, $request:expr) => {
        answer(&$app, $request.to_request()).await
    };
}

/// The `error.message` of an answer's envelope.
fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

fn envelope(message: &str) -> Value {
    json!({"success": false, "error": {"message": message}})
}

#[actix_web::test]
async fn a_text_is_sent_with_an_account_token_and_rate_limit_headers() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .withf(|instance, command| {
            instance.as_str() == "ins_suporte" && command.number == "5511912345678"
        })
        .times(1)
        .returning(|_, _| Ok(receipt()));
    let app = app!(state(whatsapp));
    let (status, body, limited) =
        ask!(app, account_post("/api/message/text/suporte", &text_body()));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true, "messageId": SENT_ID, "timestamp": 1_718_000_900})
    );
    assert!(limited);
}

#[actix_web::test]
async fn tokens_are_checked_as_on_the_rest_of_the_api() {
    let app = app!(state(MockWhatsAppSender::new()));
    let cases = [
        (None, "suporte", StatusCode::UNAUTHORIZED, "Missing token"),
        (Some("nope"), "suporte", StatusCode::UNAUTHORIZED, "Invalid token"),
        (
            Some(INSTANCE_TOKEN),
            "vendas",
            StatusCode::FORBIDDEN,
            "Instance token does not match instance vendas — use that instance's token or the account token",
        ),
        (Some(ACCOUNT_TOKEN), "vendas", StatusCode::NOT_FOUND, "instance not found"),
        // The bridge names instances by id.
        (Some(BRIDGE_TOKEN), "suporte", StatusCode::NOT_FOUND, "instance not found"),
    ];
    for (token, instance, expected_status, message) in cases {
        let (status, body, _) = ask!(
            app,
            post(
                &format!("/api/message/text/{instance}"),
                token,
                &text_body()
            )
        );
        assert_eq!(
            (status, body),
            (expected_status, envelope(message)),
            "{token:?} {instance}"
        );
    }
}

#[actix_web::test]
async fn the_instance_is_checked_before_the_body_is_made_into_a_command() {
    let app = app!(state(MockWhatsAppSender::new()));
    let invalid = json!({"number": "120363@newsletter", "message": ""});
    let routes = [
        "/api/message/text",
        "/api/message/media",
        "/api/message/reaction",
        "/api/chat/edit",
        "/api/chat/delete",
        "/api/chat/markRead",
    ];
    for route in routes {
        let (status, body, _) = ask!(app, account_post(&format!("{route}/vendas"), &invalid));
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, envelope("instance not found")),
            "{route}"
        );
        let (status, body, _) = ask!(app, account_post(&format!("{route}/suporte"), &invalid));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}");
        assert!(
            error_message(&body).starts_with("invalid body: "),
            "{route}: {body}"
        );
    }
}

#[actix_web::test]
async fn the_bridge_acts_on_any_instance_by_id_without_being_rate_limited() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .withf(|instance, _| instance.as_str() == "ins_vendas")
        .times(3)
        .returning(|_, _| Ok(receipt()));
    whatsapp
        .expect_send_text()
        .withf(|instance, _| instance.as_str() == "ins_suporte")
        .times(2)
        .returning(|_, _| Ok(receipt()));
    let app = app!(state_with(
        Some(whatsapp),
        Arc::new(MockMediaFetcher::new()),
        2,
    ));
    for _ in 0..3 {
        let (status, _, limited) = ask!(
            app,
            post(
                "/api/message/text/ins_vendas",
                Some(BRIDGE_TOKEN),
                &text_body()
            )
        );
        assert_eq!(status, StatusCode::OK);
        assert!(!limited, "the bridge is not rate limited");
    }
    // Everyone else is: the third request of the account token is refused.
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let (status, body, limited) =
            ask!(app, account_post("/api/message/text/suporte", &text_body()));
        assert_eq!(status, expected, "{body}");
        assert!(limited);
    }
}

#[actix_web::test]
async fn bodies_are_read_as_on_the_rest_of_the_api() {
    let app = app!(state(MockWhatsAppSender::new()));
    let request = test::TestRequest::post()
        .uri("/api/message/text/suporte")
        .insert_header(("token", ACCOUNT_TOKEN))
        .set_payload("{\"number\": 5511}");
    let (status, body, _) = ask!(app, request);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&body)
            .starts_with("invalid body: number: invalid type: integer `5511`, expected a string"),
        "{body}"
    );
    let (status, body, _) = ask!(
        app,
        account_post(
            "/api/message/text/suporte",
            &json!({"number": "5511912345678"})
        )
    );
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            envelope("invalid body: message: is required and must not be blank")
        )
    );
    // Text bodies keep the API's 64 KiB limit.
    let long = json!({"number": "5511912345678", "message": "a".repeat(70 * 1024)});
    let (status, body, _) = ask!(app, account_post("/api/message/text/suporte", &long));
    assert_eq!(
        (status, body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            envelope("request body too large: the limit is 65536 bytes")
        )
    );
}

#[actix_web::test]
async fn media_bodies_may_be_large_up_to_their_own_limit() {
    let bytes = [PNG, &vec![0u8; 300 * 1024][..]].concat();
    let encoded = STANDARD.encode(&bytes);
    let expected = encoded.clone();
    let whatsapp = engine_sending_media_where(move |command| {
        command.source == MediaSource::Base64(MediaData::new(expected.clone()))
            && command.mime_type.as_deref() == Some("image/png")
    });
    let app = app!(state(whatsapp));
    let body = json!({
        "number": "5511912345678", "mediaType": "image", "mediaBase64": encoded
    });
    let (status, answered, _) = ask!(
        app,
        post("/api/message/media/ins_suporte", Some(BRIDGE_TOKEN), &body)
    );
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["messageId"], SENT_ID);

    // Over the media limit: refused from the declared length, before reading.
    let request = test::TestRequest::post()
        .uri("/api/message/media/suporte")
        .insert_header(("token", ACCOUNT_TOKEN))
        .set_payload("{}")
        // Declared after the payload, which sets its own length.
        .insert_header(("content-length", (MEDIA_BODY_LIMIT_BYTES + 1).to_string()));
    let (status, body, _) = ask!(app, request);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"]["message"],
        format!(
            "request body too large: the limit is {MEDIA_BODY_LIMIT_BYTES} bytes (base64 of a 64 MiB file); send larger files by mediaUrl"
        )
    );
}

#[actix_web::test]
async fn a_media_url_is_fetched_from_its_server_and_sent_as_base64() {
    let server = MockServer::start().await;
    Mock::given(path("/files/catalogo"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .set_body_bytes(PNG),
        )
        .expect(1)
        .mount(&server)
        .await;
    let whatsapp = engine_sending_media_where(|command| {
        command.source == MediaSource::Base64(MediaData::new(STANDARD.encode(PNG)))
            && command.mime_type.as_deref() == Some("image/png")
            && command.id.as_deref() == Some(SENT_ID)
    });
    // Loopback allowed: the test server listens there.
    let fetcher =
        GuardedMediaFetcher::new(MediaFetcherSettings::new(AddressPolicy::embedded_default()))
            .unwrap();
    let app = app!(state_with(Some(whatsapp), Arc::new(fetcher), 100));
    let by_url = json!({
        "number": "5511912345678", "mediaType": "image", "id": SENT_ID,
        "mediaUrl": format!("{}/files/catalogo", server.uri())
    });
    let (status, body, _) = ask!(app, account_post("/api/message/media/suporte", &by_url));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messageId"], SENT_ID);

    // Cloud metadata is never fetched.
    let (status, body, _) = ask!(
        app,
        account_post(
            "/api/message/media/suporte",
            &json!({
                "number": "5511912345678", "mediaType": "image",
                "mediaUrl": "http://169.254.169.254/latest/meta-data/"
            })
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&body).starts_with("invalid body: mediaUrl resolves to 169.254.169.254"),
        "{body}"
    );
}

#[actix_web::test]
async fn each_engine_answer_has_its_status() {
    let cases = [
        (
            SendError::NotConnected { detail: "x".into() },
            StatusCode::SERVICE_UNAVAILABLE,
            "Instance is not connected to WhatsApp",
        ),
        (
            SendError::InvalidRequest {
                message: "invalid body: replyTo: unknown".into(),
            },
            StatusCode::BAD_REQUEST,
            "invalid body: replyTo: unknown",
        ),
        (
            SendError::NotOnWhatsApp {
                message: "5511912345678 is not on WhatsApp".into(),
            },
            StatusCode::BAD_REQUEST,
            "5511912345678 is not on WhatsApp",
        ),
        (
            SendError::MessageNotFound,
            StatusCode::NOT_FOUND,
            "message not found",
        ),
        (
            SendError::MediaGone,
            StatusCode::NOT_FOUND,
            "media no longer available",
        ),
        (
            SendError::MediaTooLarge {
                message: "the video exceeds 16 MiB".into(),
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "the video exceeds 16 MiB",
        ),
        (
            SendError::RateLimited { detail: "x".into() },
            StatusCode::SERVICE_UNAVAILABLE,
            "WhatsApp is throttling this instance; retry later",
        ),
        (
            SendError::WhatsAppFailed { detail: "x".into() },
            StatusCode::BAD_GATEWAY,
            "WhatsApp failed to carry out the command; retry later",
        ),
    ];
    for (error, expected_status, message) in cases {
        let app = app!(state(engine_refusing_sends_with(error.clone())));
        let (status, body, limited) = ask!(
            app,
            account_post(
                "/api/message/reaction/suporte",
                &json!({"number": "5511912345678", "messageId": "3EB0AA", "reaction": "👍", "fromMe": false})
            )
        );
        assert_eq!(
            (status, body),
            (expected_status, envelope(message)),
            "{error:?}"
        );
        assert!(limited);
    }
}

#[actix_web::test]
async fn without_an_engine_every_route_is_not_connected() {
    let app = app!(state_with(None, Arc::new(MockMediaFetcher::new()), 100));
    let (status, body, _) = ask!(app, account_post("/api/message/text/suporte", &text_body()));
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            envelope("Instance is not connected to WhatsApp")
        )
    );
}

#[actix_web::test]
async fn edits_deletes_and_reads_answer_success_with_what_the_engine_gave() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_edit_message()
        .returning(|_, _| Ok(receipt()));
    whatsapp
        .expect_delete_message()
        .times(2)
        .returning(|_, _| Ok(EngineReceipt::default()));
    whatsapp
        .expect_mark_read()
        .returning(|_, _| Ok(EngineReceipt::default()));
    let app = app!(state(whatsapp));
    let (status, body, _) = ask!(
        app,
        account_post(
            "/api/chat/edit/suporte",
            &json!({"messageId": "3EB0AA", "content": "novo"})
        )
    );
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"success": true, "messageId": SENT_ID, "timestamp": 1_718_000_900})
        )
    );
    let delete = json!({"messageId": "3EB0AA", "deleteForEveryone": false});
    for request in [
        test::TestRequest::delete().uri("/api/chat/delete/suporte"),
        test::TestRequest::post().uri("/api/chat/delete/suporte"),
    ] {
        let request = request
            .insert_header(("token", ACCOUNT_TOKEN))
            .set_json(&delete);
        let (status, body, _) = ask!(app, request);
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    }
    let (status, body, _) = ask!(
        app,
        account_post(
            "/api/chat/markRead/suporte",
            &json!({"messageId": "3EB0AA", "number": "5511912345678"})
        )
    );
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
}

#[actix_web::test]
async fn media_is_read_back_as_base64() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_download_media()
        .withf(|instance, id| instance.as_str() == "ins_suporte" && id == "3EB0AA")
        .returning(|_, id| {
            Ok(MediaDownload {
                message_id: id.to_owned(),
                base64: MediaData::new(STANDARD.encode(PNG)),
                mimetype: Some("image/png".into()),
                file_name: None,
            })
        });
    let app = app!(state(whatsapp));
    let request = account_get("/api/chat/base64/suporte?messageId=3EB0AA");
    let (status, body, limited) = ask!(app, request);
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"success": true, "messageId": "3EB0AA", "base64": STANDARD.encode(PNG), "mimetype": "image/png"})
        )
    );
    assert!(limited);
    let request = account_get("/api/chat/base64/suporte");
    let (status, body, _) = ask!(app, request);
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            envelope(
                "invalid query string: messageId: is required: the WhatsApp id of the message"
            )
        )
    );
}

#[actix_web::test]
async fn the_message_scopes_leave_the_rest_of_the_api_alone() {
    let app = app!(state(MockWhatsAppSender::new()));
    let (status, body, limited) = ask!(
        app,
        account_post("/api/message/sticker/suporte", &text_body())
    );
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            envelope("no route for POST /api/message/sticker/suporte — see docs/api.md for the endpoints")
        )
    );
    assert!(limited);
    // `/api/chatwoot/…` is not `/api/chat/…`.
    let request = account_get("/api/chatwoot/list/vendas");
    let (status, body, _) = ask!(app, request);
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, envelope("instance not found"))
    );
}

#[actix_web::test]
async fn compressed_request_bodies_are_refused_with_415() {
    let app = app!(state(MockWhatsAppSender::new()));
    for (uri, token) in [
        ("/api/message/text/suporte", ACCOUNT_TOKEN),
        ("/api/message/text/ins_vendas", BRIDGE_TOKEN),
        ("/api/instance/new", ACCOUNT_TOKEN),
    ] {
        let request = post(uri, Some(token), &text_body())
            .insert_header(("content-encoding", "gzip"))
            .set_payload(vec![0x1f, 0x8b, 0x08, 0x00]);
        let (status, body, _) = ask!(app, request);
        assert_eq!(
            (status, error_message(&body)),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "compressed request bodies are not accepted: send the body without Content-Encoding"
            ),
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn media_work_is_capped_by_the_permits() {
    let mut state = state(MockWhatsAppSender::new());
    state.media_work = MediaWorkLimit::new(1, std::time::Duration::from_millis(20));
    let held_elsewhere = state.media_work.hold().await.unwrap();
    let app = app!(state);
    let (status, body, _) = ask!(
        app,
        account_post(
            "/api/message/media/suporte",
            &json!({"number": "5511912345678", "mediaType": "image", "mediaUrl": "https://example.com/a.png"})
        )
    );
    assert_eq!(
        (status, error_message(&body)),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many media requests in progress; try again in a few seconds"
        )
    );
    let (status, _, _) = ask!(app, account_get("/api/chat/base64/suporte?messageId=abc"));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    drop(held_elsewhere);
}

#[actix_web::test]
async fn an_unknown_token_is_refused_before_the_media_body_is_read() {
    let app = app!(state(MockWhatsAppSender::new()));
    // A body over the media limit: read first, it would be a 413.
    let request = test::TestRequest::post()
        .uri("/api/message/media/suporte")
        .insert_header(("authorization", "Bearer ryzeacc_made_up"))
        .insert_header(("content-length", (MEDIA_BODY_LIMIT_BYTES + 1).to_string()))
        .set_payload(vec![b' '; 16]);
    let (status, body, limited) = ask!(app, request);
    assert_eq!(
        (status, error_message(&body)),
        (StatusCode::UNAUTHORIZED, "Invalid token")
    );
    assert!(limited, "failed authentications are counted per address");
}
