//! `ryze demo`: the whole product on loopback, in one process, in about ten seconds —
//! the API, the bridge, a Chatwoot simulator and a WhatsApp engine simulator — and a
//! short conversation played both ways, printed step by step. Nothing is installed,
//! nothing leaves the machine, and everything is deleted at the end.

use std::collections::HashMap;
use std::future::Future;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chatwoot_simulator::model::{Message, MessageType};
use chatwoot_simulator::store::Store;
use chatwoot_simulator::{
    AgentReply, Role, SeedAccount, SeedUser, SimulatorServer, SimulatorSettings,
};
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings, MediaFile, ReceivedCommand};
use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload};
use serde_json::{json, Value};

use crate::{commands, settings, wiring};

/// How long each step may take before the demo says what is missing and fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
const AGENT_TOKEN: &str = "demo-agent-access-token";

/// Runs the demo; `Ok` when every step was seen on the other side.
pub async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let directory = tempfile::tempdir().context("creating a temporary directory")?;
    println!("RyzeIntegrations demo: everything runs on 127.0.0.1 and is deleted at the end.\n");

    let chatwoot = SimulatorServer::start(SimulatorSettings::default())
        .await
        .context("starting the Chatwoot simulator")?;
    chatwoot.seed_account(SeedAccount {
        id: Some(1),
        name: "Loja Orion".to_owned(),
    })?;
    let agent = chatwoot.seed_user(SeedUser {
        name: "Ana Souza".to_owned(),
        email: "ana@orion.test".to_owned(),
        access_token: Some(AGENT_TOKEN.to_owned()),
        account_id: Some(1),
        role: Some(Role::Administrator),
    })?;
    let engine_token = wiring::random_secret()?;
    let engine_token = secrecy::ExposeSecret::expose_secret(&engine_token).to_owned();
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(engine_token.clone()))
        .await
        .context("starting the WhatsApp engine simulator")?;

    let env: HashMap<String, String> = HashMap::from([
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}", directory.path().join("demo.db").display()),
        ),
        (
            "RYZE_MASTER_KEY".to_owned(),
            // For this run only: the demo's database is deleted at the end.
            secrecy::ExposeSecret::expose_secret(
                &ryze_vault::MasterKey::generate()
                    .context("generating a master key")?
                    .export_base64(),
            )
            .to_owned(),
        ),
        ("ENGINE_TOKEN".to_owned(), engine_token.clone()),
        ("ENGINE_URL".to_owned(), engine.base_url()),
        ("RYZE__HTTP__WORKERS".to_owned(), "1".to_owned()),
    ]);
    let settings = settings::load_from(None, &env).context("building the demo's settings")?;
    let account_token = wiring::operator_control_plane(&settings)
        .await?
        .create_account("Loja Orion", None)
        .await
        .context("creating the demo account")?
        .token
        .expose()
        .to_owned();
    let api_listener = TcpListener::bind("127.0.0.1:0")?;
    let bridge_listener = TcpListener::bind("127.0.0.1:0")?;
    let api = format!("http://{}", api_listener.local_addr()?);
    let server_settings = settings.clone();
    let servers = tokio::spawn(async move {
        commands::serve_api_and_bridge(&server_settings, api_listener, bridge_listener).await
    });
    println!(
        "  started   API {api}, bridge, Chatwoot simulator {}, WhatsApp engine simulator {}",
        chatwoot.base_url(),
        engine.base_url()
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    wait_for("the API to answer", || async {
        client
            .get(format!("{api}/readyz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
            .then_some(())
    })
    .await?;

    // The operator's side: an instance, and the Chatwoot module on it.
    let created: Value = client
        .post(format!("{api}/api/instance/new"))
        .header("token", &account_token)
        .json(&json!({"name": "loja"}))
        .send()
        .await?
        .json()
        .await?;
    let instance_id = created["data"]["id"]
        .as_str()
        .context("the API did not return the instance id")?
        .to_owned();
    let activation = client
        .post(format!("{api}/api/chatwoot/set/loja"))
        .header("token", &account_token)
        .json(&json!({
            "chatwootBaseUrl": chatwoot.base_url(),
            "chatwootAccountId": 1,
            "chatwootApiToken": AGENT_TOKEN,
            "inboxName": "WhatsApp Loja",
            "signMessages": true,
        }))
        .send()
        .await?;
    if activation.status() != 201 {
        bail!(
            "activating the Chatwoot module failed: {}",
            activation.text().await?
        );
    }
    println!("  activated POST /api/chatwoot/set/loja → 201; Chatwoot inbox \"WhatsApp Loja\" created, agent signatures on\n");
    wait_for(
        "the bridge to connect to the API's event stream",
        || async {
            let status: Value = client
                .get(format!("{api}/api/chatwoot/list/loja"))
                .header("token", &account_token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (status["connection"] == "connected").then_some(())
        },
    )
    .await?;

    let publisher = engine.publisher(&api, &engine_token)?;
    engine.echo_sends_to(engine.publisher(&api, &engine_token)?);
    let script = engine.script(instance_id.clone());
    let maria = Contact::new("Maria Silva", "5511987654321");
    let publish = |event: EventEnvelope| {
        let publisher = &publisher;
        async move {
            let answer = publisher.publish(&event).await?;
            if !answer.is_stored() {
                bail!("the API refused the event: {}", answer.body);
            }
            anyhow::Ok(event)
        }
    };

    // 1. A text from a new customer.
    let first = publish(
        script
            .text(&maria, "Oi! Meu pedido *1234* já saiu?")
            .build(),
    )
    .await?;
    let first_id = whatsapp_id(&first);
    step(
        1,
        "WhatsApp → Chatwoot",
        "Maria (+55 11 98765-4321) writes: \"Oi! Meu pedido *1234* já saiu?\"",
    );
    let store = wait_for_chatwoot(&chatwoot, "Maria's text", |store| {
        message_from(store, &first_id).is_some()
    })
    .await?;
    let contact = store.contacts.values().next().context("no contact")?;
    let conversation = store
        .conversations
        .values()
        .next()
        .context("no conversation")?;
    let message = message_from(&store, &first_id).context("no message")?;
    seen(&format!(
        "contact \"{}\" ({}), conversation #{} ({}), incoming message \"{}\"",
        contact.name,
        contact.phone_number.as_deref().unwrap_or(""),
        conversation.display_id,
        format!("{:?}", conversation.status).to_lowercase(),
        message.content.as_deref().unwrap_or("")
    ));
    let conversation_display_id = conversation.display_id;

    // 2. A photo with a caption.
    let photo = publish(
        script
            .image(&maria, MediaFile::sample_jpeg())
            .caption("Foto da etiqueta")
            .file_name("etiqueta.jpg")
            .build(),
    )
    .await?;
    let photo_id = whatsapp_id(&photo);
    step(
        2,
        "WhatsApp → Chatwoot",
        "Maria sends a photo captioned \"Foto da etiqueta\"",
    );
    let store = wait_for_chatwoot(&chatwoot, "the photo", |store| {
        message_from(store, &photo_id).is_some()
    })
    .await?;
    let message = message_from(&store, &photo_id).context("no photo")?;
    let attachment = message
        .attachments
        .first()
        .context("the photo has no attachment")?;
    seen(&format!(
        "message \"{}\" with attachment {} ({}, {} bytes), same conversation #{}",
        message.content.as_deref().unwrap_or(""),
        attachment.filename,
        attachment.content_type,
        attachment.byte_size,
        conversation_display_id
    ));

    // 3. A reply to her first message.
    let reply = publish(
        script
            .text(&maria, "É o pedido desta mensagem")
            .reply_to(&first)
            .build(),
    )
    .await?;
    let reply_id = whatsapp_id(&reply);
    step(
        3,
        "WhatsApp → Chatwoot",
        "Maria replies to her first message",
    );
    let store = wait_for_chatwoot(&chatwoot, "the reply", |store| {
        message_from(store, &reply_id).is_some()
    })
    .await?;
    let replied = message_from(&store, &reply_id).context("no reply")?;
    let original = message_from(&store, &first_id).context("no original")?;
    seen(&format!(
        "message \"{}\" shown as a reply to message {} (in_reply_to = {})",
        replied.content.as_deref().unwrap_or(""),
        original.id,
        replied
            .content_attributes
            .get("in_reply_to")
            .map(Value::to_string)
            .unwrap_or_else(|| "none".to_owned())
    ));

    // 4. The agent answers in Chatwoot.
    step(
        4,
        "Chatwoot → WhatsApp",
        "agent Ana Souza answers: \"Sim! Saiu **hoje** pela manhã.\"",
    );
    let before = engine.executed().len();
    let agent_message = chatwoot.agent_reply(AgentReply {
        account_id: 1,
        conversation_id: conversation_display_id,
        user_id: agent.id,
        content: "Sim! Saiu **hoje** pela manhã.".to_owned(),
        private: false,
        content_attributes: None,
    })?;
    let sent = wait_for_engine(&engine, before, "the agent's reply", |command| {
        command.text().is_some()
    })
    .await?;
    let text = sent.text().context("the engine received no text")?;
    seen(&format!(
        "WhatsApp engine asked to send to {}: {:?} (WhatsApp id {})",
        text.number,
        text.message,
        sent.message_id().unwrap_or_default()
    ));
    let reply_whatsapp_id = sent.message_id().unwrap_or_default().to_owned();

    // 5. The agent deletes it.
    step(
        5,
        "Chatwoot → WhatsApp",
        "the agent deletes that message in Chatwoot",
    );
    let before = engine.executed().len();
    let deleted = client
        .delete(format!(
            "{}/api/v1/accounts/1/conversations/{conversation_display_id}/messages/{}",
            chatwoot.base_url(),
            agent_message.id
        ))
        .header("api_access_token", AGENT_TOKEN)
        .send()
        .await?;
    if !deleted.status().is_success() {
        bail!("Chatwoot refused the delete: {}", deleted.status());
    }
    let sent = wait_for_engine(&engine, before, "the revoke", |command| {
        command.delete().is_some()
    })
    .await?;
    let delete = sent.delete().context("the engine received no delete")?;
    seen(&format!(
        "WhatsApp engine asked to revoke {} for everyone: {}",
        delete.message_id, delete.delete_for_everyone
    ));
    if delete.message_id != reply_whatsapp_id {
        bail!("the revoke named another message than the one sent");
    }

    // 6. The engine reports the connection: the status conversation shows it.
    step(
        6,
        "WhatsApp → Chatwoot",
        "the engine reports the instance connected (instance.state)",
    );
    publish(script.connected()).await?;
    let store = wait_for_chatwoot(&chatwoot, "the status conversation", |store| {
        status_notice(store).is_some()
    })
    .await?;
    let (contact, notice) = status_notice(&store).context("no status conversation")?;
    seen(&format!("status contact \"{contact}\" says \"{notice}\""));

    // 7. Maria calls and nobody answers.
    step(
        7,
        "WhatsApp → Chatwoot",
        "Maria calls (call.update offer, then timeout)",
    );
    publish(script.call(&maria, "CA11DEMO", "offer").build()).await?;
    publish(script.call(&maria, "CA11DEMO", "timeout").build()).await?;
    let store = wait_for_chatwoot(&chatwoot, "the call's outcome", |store| {
        has_content(store, "📞 Missed voice call")
    })
    .await?;
    let notices: Vec<&str> = store
        .messages
        .values()
        .filter_map(|message| message.content.as_deref())
        .filter(|content| content.starts_with("📞"))
        .collect();
    seen(&format!(
        "conversation #{conversation_display_id} shows {}",
        notices.join(" then ")
    ));

    // 8. A WhatsApp Business label.
    step(
        8,
        "WhatsApp → Chatwoot",
        "the chat gets the WhatsApp Business label \"Pedido enviado\" (label.update)",
    );
    publish(script.labels(&maria, ["Pedido enviado"])).await?;
    let store = wait_for_chatwoot(&chatwoot, "the label", |store| {
        store
            .conversations
            .values()
            .any(|conversation| !conversation.labels.is_empty())
    })
    .await?;
    let labels: Vec<String> = store
        .conversations
        .values()
        .flat_map(|conversation| conversation.labels.clone())
        .collect();
    seen(&format!(
        "conversation #{conversation_display_id} labelled {}",
        labels.join(", ")
    ));

    let status: Value = client
        .get(format!("{api}/api/chatwoot/list/loja"))
        .header("token", &account_token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "\nGET /api/chatwoot/list/loja → status {}, connection {}, counters {}",
        status["status"], status["connection"], status["counters"]
    );
    println!(
        "Done in {:.1} s: every step was seen on the other side.",
        started.elapsed().as_secs_f64()
    );
    servers.abort();
    engine.stop().await;
    chatwoot.stop().await;
    Ok(())
}

fn step(number: u32, direction: &str, what: &str) {
    println!("{number}. {direction}: {what}");
}

fn seen(what: &str) {
    println!("   seen: {what}");
}

/// The status contact's name and its latest notice.
fn status_notice(store: &Store) -> Option<(String, String)> {
    let contact = store
        .contacts
        .values()
        .find(|contact| contact.name.starts_with("WhatsApp · "))?;
    let notice = store
        .messages
        .values()
        .filter(|message| {
            store
                .conversations
                .get(&message.conversation_id)
                .is_some_and(|conversation| conversation.contact_id == contact.id)
        })
        .filter_map(|message| message.content.clone())
        .next_back()?;
    Some((contact.name.clone(), notice))
}

fn has_content(store: &Store, content: &str) -> bool {
    store
        .messages
        .values()
        .any(|message| message.content.as_deref() == Some(content))
}

fn whatsapp_id(event: &EventEnvelope) -> String {
    match &event.payload {
        EventPayload::MessageExchange(exchange) => exchange.message.id.clone(),
        _ => String::new(),
    }
}

fn message_from<'a>(store: &'a Store, whatsapp_id: &str) -> Option<&'a Message> {
    store.messages.values().find(|message| {
        message.source_id.as_deref() == Some(whatsapp_id)
            && message.message_type == MessageType::Incoming
    })
}

/// Polls `probe` until it gives a value, or fails after [`STEP_TIMEOUT`].
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!(
                "gave up waiting for {what} after {} s",
                STEP_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_for_chatwoot(
    chatwoot: &chatwoot_simulator::SimulatorHandle,
    what: &str,
    condition: impl Fn(&Store) -> bool,
) -> anyhow::Result<Store> {
    wait_for(what, || async {
        let store = chatwoot.snapshot();
        condition(&store).then_some(store)
    })
    .await
}

/// The first command the engine carried out after the first `already` that `matches`.
async fn wait_for_engine(
    engine: &engine_simulator::EngineSimulatorHandle,
    already: usize,
    what: &str,
    matches: impl Fn(&ReceivedCommand) -> bool,
) -> anyhow::Result<ReceivedCommand> {
    wait_for(what, || async {
        engine
            .executed()
            .into_iter()
            .skip(already)
            .find(|command| matches(command))
    })
    .await
}
