//! Issue-10 H2 end to end: one tenant cannot stall another tenant's agents' replies.
//! Tenant A's Chatwoot (the simulator behind a pass-through server of the test) serves
//! attachments one byte a second; A's webhook URL receives agents' replies with such
//! attachments in more conversations than the bridge handles at once. Tenant B's agent
//! reply must still reach WhatsApp within seconds, not after A's downloads time out.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chatwoot_simulator::webhooks::signature;
use ryze_test_support::chatwoot_webhooks::MessageWebhook;
use serde_json::{json, Value};

use crate::support::harness::create_instance;
use crate::support::product::{Product, WAIT};

/// Conversations of tenant A whose replies wait on slow files: more than the bridge's
/// whole outbound budget (16 webhooks at once).
const STALLED_CONVERSATIONS: i64 = 20;
/// How soon tenant B's reply must reach WhatsApp.
const FEW_SECONDS: Duration = Duration::from_secs(8);

/// Where the pass-through server forwards, and what it counts.
struct Upstream {
    chatwoot: String,
    client: reqwest::Client,
    slow_downloads: Arc<AtomicUsize>,
}

/// Tenant A's Chatwoot as the bridge sees it: the simulator's API passed through, and
/// files under `/slow/` sent one byte a second, for ten minutes.
struct SlowChatwoot {
    base_url: String,
    slow_downloads: Arc<AtomicUsize>,
    server: actix_web::dev::ServerHandle,
}

impl SlowChatwoot {
    fn start(chatwoot: String) -> SlowChatwoot {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let slow_downloads = Arc::new(AtomicUsize::new(0));
        let upstream = web::Data::new(Upstream {
            chatwoot,
            client: reqwest::Client::new(),
            slow_downloads: slow_downloads.clone(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(upstream.clone())
                .route("/slow/{file}", web::get().to(trickle))
                .default_service(web::to(pass_through))
        })
        .listen(listener)
        .unwrap()
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        SlowChatwoot {
            base_url,
            slow_downloads,
            server: handle,
        }
    }

    fn downloads_started(&self) -> usize {
        self.slow_downloads.load(Ordering::SeqCst)
    }
}

async fn trickle(upstream: web::Data<Upstream>) -> HttpResponse {
    upstream.slow_downloads.fetch_add(1, Ordering::SeqCst);
    let bytes = futures::stream::unfold(0_u32, |sent| async move {
        if sent >= 600 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((
            Ok::<_, actix_web::Error>(web::Bytes::from_static(b"%")),
            sent + 1,
        ))
    });
    HttpResponse::Ok()
        .content_type("application/pdf")
        .streaming(bytes)
}

async fn pass_through(
    request: HttpRequest,
    body: web::Bytes,
    upstream: web::Data<Upstream>,
) -> HttpResponse {
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
    let mut forwarded = upstream
        .client
        .request(method, format!("{}{}", upstream.chatwoot, request.uri()))
        .body(body.to_vec());
    for (name, value) in request.headers() {
        if name != HOST && name != CONTENT_LENGTH {
            forwarded = forwarded.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = forwarded.send().await.unwrap();
    let mut response = HttpResponse::build(StatusCode::from_u16(answer.status().as_u16()).unwrap());
    if let Some(content_type) = answer.headers().get(reqwest::header::CONTENT_TYPE) {
        response.insert_header((CONTENT_TYPE, content_type.as_bytes()));
    }
    response.body(answer.bytes().await.unwrap())
}

/// Activates the instance `loja` with the Chatwoot at `chatwoot_base_url`; answers the
/// inbox's webhook URL and signing secret as Chatwoot holds them.
async fn activate_tenant_a(product: &Product, chatwoot_base_url: &str) -> (u64, String, String) {
    let created = create_instance(
        &product.client,
        &product.api,
        &product.account_token,
        "loja",
    )
    .await;
    assert_eq!(created.status(), 201);
    let activated = product
        .client
        .post(format!("{}/api/chatwoot/set/loja", product.api))
        .header("token", &product.account_token)
        .json(&json!({
            "chatwootBaseUrl": chatwoot_base_url,
            "chatwootAccountId": 1,
            "chatwootApiToken": crate::support::product::ADMIN_TOKEN,
            "inboxName": "Loja",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 201, "{:?}", activated.text().await);
    let store = product.chatwoot.snapshot();
    let inbox = store
        .inboxes
        .values()
        .find(|inbox| inbox.name == "Loja")
        .expect("tenant A's inbox");
    (
        inbox.id,
        inbox
            .webhook_url
            .clone()
            .expect("the bridge set its webhook URL"),
        inbox.secret.clone().expect("the inbox signs its webhooks"),
    )
}

/// An agent's reply in tenant A's conversation `conversation`, with three attachments
/// on A's slow file server.
fn stalled_reply(inbox_id: u64, conversation: i64, slow_chatwoot: &str) -> Value {
    let attachments: Vec<Value> = (0..3)
        .map(|index| {
            json!({
                "data_url": format!("{slow_chatwoot}/slow/{conversation}-{index}.pdf"),
                "file_type": "file",
            })
        })
        .collect();
    MessageWebhook::agent_reply(80_000 + conversation)
        .with("inbox", json!({"id": inbox_id}))
        .with("account", json!({"id": 1}))
        .with(
            "conversation",
            json!({
                "id": 5_000 + conversation,
                "inbox_id": inbox_id,
                "meta": {"sender": {"identifier": format!("55119555{conversation:05}@s.whatsapp.net")}}
            }),
        )
        .with("attachments", json!(attachments))
        .to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_chatwoot_serves_attachments_slowly_does_not_delay_another_tenants_reply() {
    let product = Product::start(json!({})).await;
    let slow = SlowChatwoot::start(product.chatwoot.base_url());
    let (inbox_id, webhook_url, signing_secret) = activate_tenant_a(&product, &slow.base_url).await;

    // Tenant A's agents reply in many conversations, each with files that trickle.
    for conversation in 1..=STALLED_CONVERSATIONS {
        let body = stalled_reply(inbox_id, conversation, &slow.base_url).to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let answer = product
            .client
            .post(&webhook_url)
            .header("Content-Type", "application/json")
            .header("X-Chatwoot-Timestamp", &timestamp)
            .header(
                "X-Chatwoot-Signature",
                signature(&signing_secret, &timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    }
    let deadline = Instant::now() + WAIT;
    while slow.downloads_started() < 4 {
        assert!(
            Instant::now() < deadline,
            "tenant A's downloads never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Tenant B: a customer writes, an agent answers.
    let customer = product.customer_writes("Meu pedido chegou?").await;
    product.agent_replies(customer.conversation, "Chegou sim, obrigado!");
    let reached = product
        .engine
        .wait_until(FEW_SECONDS, |commands| {
            commands.iter().any(|command| {
                command
                    .text()
                    .is_some_and(|text| text.message == "Chegou sim, obrigado!")
            })
        })
        .await;

    assert!(
        reached,
        "tenant B's reply did not reach WhatsApp within {FEW_SECONDS:?} while tenant A's downloads stalled ({} started)",
        slow.downloads_started()
    );
    assert!(
        slow.downloads_started() <= 4,
        "tenant A never has more than its share of downloads going: {}",
        slow.downloads_started()
    );
    slow.server.stop(false).await;
}
