//! The message endpoints end to end: the real API (wired by `ryze::wiring`, talking to the
//! engine simulator over `ENGINE_URL`), called with an account token over HTTP and by the
//! bridge's own client (`ryze-bridge-message-client`, `BRIDGE_TOKEN`, instance by id).

use crate::support::{
    activation_body, bridge_activates, status_and_body, Backend, Options, TestApi, BRIDGE_TOKEN,
};
use engine_simulator::{
    EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings, MediaFile,
};
use reqwest::Method;
use ryze_bridge_message_client::{ApiMessageClient, ApiMessageClientSettings};
use ryze_domain::InstanceId;
use ryze_ports::whatsapp_events::{EngineErrorCode, MediaData, MediaSource, SendText};
use ryze_ports::{SendError, WhatsAppSender};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ENGINE_TOKEN: &str = "engine-token-for-message-tests-0123456789";
const SENT_ID: &str = "3EB0F1E2D3C4B5A6978877";

struct World {
    api: TestApi,
    engine: EngineSimulatorHandle,
    /// The bridge's client of the API's message endpoints.
    bridge: ApiMessageClient,
    instance_id: InstanceId,
}

async fn world() -> World {
    world_with(Options::new(Backend::Sqlite)).await
}

async fn world_with(options: Options) -> World {
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .expect("engine simulator");
    let api = TestApi::start_with(
        options
            .env("ENGINE_URL", engine.base_url())
            .env("ENGINE_TOKEN", ENGINE_TOKEN),
    )
    .await;
    let created: Value = api
        .request_as_account(
            Method::POST,
            "/api/instance/new",
            Some(&json!({"name": "suporte"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let instance_id = InstanceId::new(created["data"]["id"].as_str().unwrap());
    // The bridge acts only on instances with a Chatwoot integration.
    bridge_activates(api.bridge(), "int_suporte", 12).await;
    let activated = api
        .activate("suporte", &api.account_token, &activation_body())
        .await;
    assert_eq!(activated.status(), 201);
    let bridge = ApiMessageClient::new(ApiMessageClientSettings::new(
        api.base_url.parse().unwrap(),
        SecretString::from(BRIDGE_TOKEN),
    ))
    .unwrap();
    World {
        api,
        engine,
        bridge,
        instance_id,
    }
}

/// `POST /api/message/media/suporte` with the account token.
async fn send_media(world: &World, body: Value) -> reqwest::Response {
    world
        .api
        .request(
            Method::POST,
            "/api/message/media/suporte",
            Some(&world.api.account_token),
            Some(&body),
        )
        .await
}

fn text(id: &str) -> SendText {
    SendText {
        number: "5511912345678".into(),
        message: "*Ana*:\nSeu pedido sai hoje.".into(),
        reply_to: None,
        id: Some(id.into()),
    }
}

#[tokio::test]
async fn a_customer_sends_a_text_through_the_engine() {
    let world = world().await;
    let response = world
        .api
        .request(
            Method::POST,
            "/api/message/text/suporte",
            Some(&world.api.account_token),
            Some(&json!({"number": "+55 11 91234-5678", "message": "Olá!"})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-ratelimit-remaining"));
    let body: Value = response.json().await.unwrap();
    let executed = world.engine.executed();
    assert_eq!(executed.len(), 1);
    let command = &executed[0];
    assert_eq!(command.instance, world.instance_id.as_str());
    assert_eq!(command.text().unwrap().number, "5511912345678");
    assert_eq!(body["success"], true);
    assert_eq!(body["messageId"], command.message_id().unwrap());
    assert!(body["timestamp"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn the_bridge_retries_a_send_without_sending_it_twice() {
    let world = world().await;
    let first = world
        .bridge
        .send_text(&world.instance_id, text(SENT_ID))
        .await
        .unwrap();
    let again = world
        .bridge
        .send_text(&world.instance_id, text(SENT_ID))
        .await
        .unwrap();
    assert_eq!(first.message_id.as_deref(), Some(SENT_ID));
    assert_eq!(again, first);
    let commands = world.engine.commands();
    assert_eq!(commands.len(), 2);
    assert!(commands[0].is_executed());
    assert!(commands[1].is_repeat());
}

#[tokio::test]
async fn after_a_deactivation_the_bridge_missed_its_sends_are_refused() {
    let world = world().await;
    // The bridge cannot be told: the row goes anyway, and with it the bridge's right to
    // send agents' replies through the instance.
    Mock::given(method("DELETE"))
        .and(path("/v1/integrations/int_suporte"))
        .respond_with(ResponseTemplate::new(503))
        .mount(world.api.bridge())
        .await;
    let (status, _) = status_and_body(
        world
            .api
            .request_as_account(Method::DELETE, "/api/chatwoot/delete/suporte", None)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let refused = world
        .bridge
        .send_text(&world.instance_id, text(SENT_ID))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        SendError::InstanceGone,
        "the API's 404 `instance not found` is a lasting refusal to the bridge"
    );
    assert!(!refused.is_transient(), "the bridge gives up at once");
    assert!(
        world.engine.commands().is_empty(),
        "nothing reached WhatsApp"
    );
}

#[tokio::test]
async fn engine_refusals_reach_the_bridge_as_the_same_errors() {
    let world = world().await;
    world.engine.fail_next(1, EngineErrorCode::NotConnected);
    let error = world
        .bridge
        .send_text(&world.instance_id, text(SENT_ID))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::NotConnected { .. }), "{error:?}");
    assert!(error.is_transient());

    world.engine.fail_next(1, EngineErrorCode::RateLimited);
    let error = world
        .bridge
        .send_text(&world.instance_id, text(SENT_ID))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::RateLimited { .. }), "{error:?}");

    world.engine.fail_next(1, EngineErrorCode::MessageNotFound);
    let mut reply = text(SENT_ID);
    reply.reply_to = Some("3EB0AAAAAAAAAAAAAAAA".into());
    let error = world
        .bridge
        .send_text(&world.instance_id, reply)
        .await
        .unwrap_err();
    assert_eq!(error, SendError::MessageNotFound);

    // An instance the API does not have.
    let error = world
        .bridge
        .send_text(&InstanceId::new("ins_unknown"), text(SENT_ID))
        .await
        .unwrap_err();
    assert_eq!(error, SendError::InstanceGone);
    assert!(!format!("{error:?}").contains(BRIDGE_TOKEN));
}

#[tokio::test]
async fn the_bridge_downloads_media_and_learns_when_it_is_gone() {
    let world = world().await;
    let file = MediaFile::sample_ogg_opus().with_file_name("audio.ogg");
    world.engine.remember_media(
        world.instance_id.as_str(),
        "3A7D2C1B0A9F8E7D6C5B",
        file.clone(),
    );
    let download = world
        .bridge
        .download_media(&world.instance_id, "3A7D2C1B0A9F8E7D6C5B")
        .await
        .unwrap();
    assert_eq!(download.base64.as_str(), file.base64());
    assert_eq!(download.file_name.as_deref(), Some("audio.ogg"));
    assert!(download
        .mimetype
        .as_deref()
        .is_some_and(|mime| mime.starts_with("audio/ogg")));

    world
        .engine
        .expire_media(world.instance_id.as_str(), "3A7D2C1B0A9F8E7D6C5B");
    let error = world
        .bridge
        .download_media(&world.instance_id, "3A7D2C1B0A9F8E7D6C5B")
        .await
        .unwrap_err();
    assert_eq!(error, SendError::MediaGone);
}

#[tokio::test]
async fn a_media_url_reaches_the_engine_as_sniffed_base64() {
    // The file is served on loopback, which a `mediaUrl` reaches only when allowed.
    let world =
        world_with(Options::new(Backend::Sqlite).env("MEDIA_URL_ALLOW_PRIVATE_ADDRESSES", "true"))
            .await;
    let file = MediaFile::sample_jpeg();
    let server = MockServer::start().await;
    Mock::given(path("/cdn/foto"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .set_body_bytes(file.bytes.clone()),
        )
        .mount(&server)
        .await;
    let response = send_media(
        &world,
        json!({
            "number": "5511912345678",
            "mediaType": "image",
            "mediaUrl": format!("{}/cdn/foto", server.uri()),
            "message": "Catálogo",
            "id": SENT_ID
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let executed = world.engine.executed();
    let media = executed[0].media().unwrap();
    assert_eq!(
        media.source,
        MediaSource::Base64(MediaData::new(file.base64()))
    );
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(media.message.as_deref(), Some("Catálogo"));
    assert_eq!(media.id.as_deref(), Some(SENT_ID));
}

/// SSRF: in the embedded default (where `chatwootBaseUrl` may be on loopback), a caller's
/// `mediaUrl` on loopback is refused with a 400 naming its own setting, and nothing
/// connects to that address; nothing reaches the engine either.
#[tokio::test]
async fn a_media_url_on_loopback_is_refused_in_the_embedded_default_without_reaching_it() {
    let world = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let recorder = tokio::spawn({
        let hit = hit.clone();
        async move {
            while let Ok((_socket, _)) = listener.accept().await {
                hit.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    for media_url in [
        format!("http://{address}/admin/export"),
        format!("http://localhost:{}/admin/export", address.port()),
    ] {
        let response = send_media(
            &world,
            json!({
                "number": "5511912345678",
                "mediaType": "document",
                "mediaUrl": media_url,
                "id": SENT_ID
            }),
        )
        .await;
        assert_eq!(response.status(), 400, "{media_url}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("MEDIA_URL_ALLOW_PRIVATE_ADDRESSES=true to allow loopback addresses"),
            "{media_url}: {body}"
        );
        assert!(
            body.contains("mediaUrl") && body.contains(" resolves to "),
            "{media_url}: {body}"
        );
    }
    recorder.abort();
    assert!(
        !hit.load(std::sync::atomic::Ordering::SeqCst),
        "the loopback address was reached"
    );
    assert!(world.engine.executed().is_empty());
}
