//! Issue-5's hardest promise, end to end with the real binary: `ryze api` and
//! `ryze bridge` as separate processes, each with its own database. Once the bridge has
//! acknowledged Chatwoot's webhook, an agent's reply must reach WhatsApp exactly once,
//! even when the bridge is killed with SIGKILL and restarted in the middle of sending it:
//!
//! - while it waits to retry a send WhatsApp failed: the restarted bridge sends it, with
//!   the WhatsApp id chosen (and recorded) before the first attempt;
//! - after WhatsApp sent it but before the bridge heard so (the answer is held on its way
//!   back from the engine): the restarted bridge sends again with the same id, and the
//!   engine, which remembers the ids it sent, does not send it twice.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::support::product::ENGINE_TOKEN;
use crate::support::split::SplitDeployment;
use chatwoot_simulator::AgentReply;
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings, ReceivedCommand};
use ryze_ports::whatsapp_events::EngineErrorCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const MARIA_JID: &str = "5511987654321@s.whatsapp.net";

/// A TCP relay between the API and the engine that can hold the engine's answers: with
/// the gate closed, requests reach the engine (which carries them out) but the bytes of
/// its answers wait in the relay until the gate opens again.
struct AnswerGate {
    address: String,
    open: Arc<(Mutex<bool>, Condvar)>,
}

impl AnswerGate {
    fn start(upstream: std::net::SocketAddr) -> AnswerGate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let open = Arc::new((Mutex::new(true), Condvar::new()));
        let gate = open.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client_in, server_out, None));
                let gate = gate.clone();
                std::thread::spawn(move || pipe(server, client, Some(gate)));
            }
        });
        AnswerGate { address, open }
    }

    fn set_open(&self, open: bool) {
        let (state, changed) = &*self.open;
        *state.lock().unwrap() = open;
        changed.notify_all();
    }
}

/// Copies `from` to `to` until either closes, each chunk waiting for the gate if any.
fn pipe(mut from: TcpStream, mut to: TcpStream, gate: Option<Arc<(Mutex<bool>, Condvar)>>) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if let Some(gate) = &gate {
            let (state, changed) = &**gate;
            let mut open = state.lock().unwrap();
            while !*open {
                open = changed.wait(open).unwrap();
            }
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// Both simulators, `ryze api` (reaching the engine through an [`AnswerGate`]) and
/// `ryze bridge`, an instance `loja` with an active integration, and a conversation
/// with Maria in Chatwoot.
struct Deployment {
    split: SplitDeployment,
    gate: AnswerGate,
    /// Maria's conversation (display id).
    conversation: u64,
}

impl Deployment {
    async fn start() -> Deployment {
        let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
            .await
            .unwrap();
        let gate = AnswerGate::start(engine.address());
        let split = SplitDeployment::start(
            engine,
            gate.address.clone(),
            &[("RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS", "1")],
        )
        .await;

        // Maria writes first, so Chatwoot has her conversation.
        let conversation = split
            .contact_writes(Contact::new("Maria Silva", "5511987654321"), "Oi")
            .await;
        Deployment {
            split,
            gate,
            conversation,
        }
    }

    /// Ada answers in Maria's conversation; returns the Chatwoot message id.
    fn agent_replies(&self, content: &str) -> u64 {
        self.split
            .chatwoot
            .agent_reply(AgentReply {
                account_id: 1,
                conversation_id: self.conversation,
                user_id: self.split.admin.id,
                content: content.to_owned(),
                private: false,
                content_attributes: None,
            })
            .unwrap()
            .id
    }

    /// Waits until Chatwoot's webhook for message `id` was answered 200 (the bridge
    /// queued it durably).
    async fn wait_until_acknowledged(&self, id: u64) {
        let acknowledged = self
            .split
            .chatwoot
            .wait_until(WAIT, |_, deliveries| {
                deliveries.iter().any(|delivery| {
                    delivery.event == "message_created"
                        && delivery.body["id"] == json!(id)
                        && delivery.response_status == Some(200)
                })
            })
            .await;
        assert!(
            acknowledged,
            "the bridge never acknowledged the webhook: {:#?}",
            self.split.chatwoot.webhook_deliveries()
        );
    }

    /// Waits until the text commands carrying `message` satisfy `condition`.
    async fn wait_for_sends(
        &self,
        what: &str,
        message: &str,
        condition: impl Fn(&[&ReceivedCommand]) -> bool,
    ) -> Vec<ReceivedCommand> {
        let held = self
            .split
            .engine
            .wait_until(WAIT, |commands| {
                condition(&sends_of(commands, message).collect::<Vec<_>>())
            })
            .await;
        let commands = self.split.engine.commands();
        assert!(
            held,
            "timed out waiting for {what}; the engine received:\n{}",
            commands
                .iter()
                .map(ReceivedCommand::summary)
                .collect::<Vec<_>>()
                .join("\n")
        );
        sends_of(&commands, message).cloned().collect()
    }
}

/// The text commands carrying `message`.
fn sends_of<'a>(
    commands: &'a [ReceivedCommand],
    message: &'a str,
) -> impl Iterator<Item = &'a ReceivedCommand> {
    commands
        .iter()
        .filter(move |command| command.text().is_some_and(|text| text.message == message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_killed_while_waiting_to_retry_a_failed_send_sends_it_once_after_restart() {
    let mut deployment = Deployment::start().await;
    // WhatsApp fails the first attempt: the bridge waits (a second or more) to retry.
    deployment.split.engine.fail_next(1, "whatsapp_error");

    let reply = deployment.agent_replies("Seu pedido saiu");
    deployment.wait_until_acknowledged(reply).await;
    deployment
        .wait_for_sends("the failed first attempt", "Seu pedido saiu", |sends| {
            !sends.is_empty()
        })
        .await;
    deployment.split.kill_bridge();
    deployment.split.start_bridge().await;

    deployment
        .wait_for_sends("the send after the restart", "Seu pedido saiu", |sends| {
            sends.iter().any(|send| send.is_executed())
        })
        .await;
    // Anything still in flight lands, so a duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sends: Vec<ReceivedCommand> =
        sends_of(&deployment.split.engine.commands(), "Seu pedido saiu")
            .cloned()
            .collect();
    let summary: Vec<String> = sends.iter().map(ReceivedCommand::summary).collect();
    assert_eq!(sends.len(), 2, "one failed attempt, one send: {summary:#?}");
    assert_eq!(
        sends[0].refusal(),
        Some(&EngineErrorCode::WhatsAppError),
        "{summary:#?}"
    );
    assert!(sends[1].is_executed(), "{summary:#?}");
    assert_eq!(sends[1].text().unwrap().number, MARIA_JID);
    let first_id = sends[0].text().unwrap().id.clone();
    assert!(first_id.is_some(), "the bridge chose the id before sending");
    assert_eq!(
        sends[1].text().unwrap().id,
        first_id,
        "the restarted bridge sent with the id it recorded before the first attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_killed_after_whatsapp_sent_but_before_it_heard_so_does_not_send_twice() {
    let mut deployment = Deployment::start().await;
    // The engine's answers wait in the relay: WhatsApp sends, the bridge does not know.
    deployment.gate.set_open(false);

    let reply = deployment.agent_replies("Chegou hoje");
    deployment.wait_until_acknowledged(reply).await;
    deployment
        .wait_for_sends("the send", "Chegou hoje", |sends| {
            sends.iter().any(|send| send.is_executed())
        })
        .await;
    deployment.split.kill_bridge();
    deployment.gate.set_open(true);
    deployment.split.start_bridge().await;

    deployment
        .wait_for_sends("the retry after the restart", "Chegou hoje", |sends| {
            sends.len() >= 2
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sends: Vec<ReceivedCommand> = sends_of(&deployment.split.engine.commands(), "Chegou hoje")
        .cloned()
        .collect();
    let summary: Vec<String> = sends.iter().map(ReceivedCommand::summary).collect();
    assert_eq!(
        sends.iter().filter(|send| send.is_executed()).count(),
        1,
        "WhatsApp sent it once: {summary:#?}"
    );
    assert!(
        sends[1..].iter().all(ReceivedCommand::is_repeat),
        "the restarted bridge repeated the same id, which the engine recognised: {summary:#?}"
    );
    assert_eq!(sends[0].message_id(), sends[1].message_id());

    // The bridge finished the job: the chat is marked read and Chatwoot shows no failure.
    let marked_read = deployment
        .split
        .engine
        .wait_until(WAIT, |commands| {
            commands.iter().any(|command| command.mark_read().is_some())
        })
        .await;
    assert!(marked_read, "the restarted bridge finished the reply");
    let store = deployment.split.chatwoot.snapshot();
    assert_ne!(
        store.messages[&reply].status,
        chatwoot_simulator::model::MessageStatus::Failed
    );
    assert!(store.messages.values().all(|message| !message.private));
}
