//! The product as separate processes of the real binary, for the crash and key rotation
//! tests: `ryze api` and `ryze bridge`, each with its own SQLite database, the Chatwoot
//! and engine simulators in the test process, and an instance `loja` with an active
//! integration. Either service can be killed with SIGKILL and started again, with other
//! master keys, and other commands run against either database.
//!
//! Also what the several-nodes tests share with them: [`Process`] (killed, paused and
//! resumed by signal), the [`ryze`] command builder, activating an integration, waiting
//! for relayed messages and asserting that each landed once and in order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatwoot_simulator::model::User;
use chatwoot_simulator::store::Store;
use chatwoot_simulator::{Role, SimulatorHandle};
use engine_simulator::script::Contact;
use engine_simulator::EngineSimulatorHandle;
use ryze_ports::whatsapp_events::EventPayload;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::harness::{
    agent_public_reply, chatwoot_with_users, create_instance, free_port, printed_account_token,
    wait_until_answers, READY_WITHIN,
};
use super::product::{relayed, ADMIN_TOKEN, BRIDGE_TOKEN, ENGINE_TOKEN, MASTER_KEY};

/// A child process, killed when dropped, pass or fail.
pub(crate) struct Process(Child);

impl Process {
    /// Spawns `command`.
    pub(crate) fn spawn(command: &mut Command) -> Process {
        let spawned = command.spawn();
        Process(spawned.unwrap_or_else(|error| {
            panic!(
                "cannot start {:?} ({error}): is it installed?",
                command.get_program()
            )
        }))
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process, with `kill(1)`.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.0.id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// SIGKILL: no shutdown, no flush, nothing finished.
    pub(crate) fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary in `directory` with only `env` (and the shared test secrets) set.
pub(crate) fn ryze(directory: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ryze"));
    command
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("RYZE_MASTER_KEY", MASTER_KEY)
        .env("BRIDGE_TOKEN", BRIDGE_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

pub(crate) async fn wait_until_ready(client: &reqwest::Client, base: &str) {
    wait_until_answers(client, base, "/readyz").await;
}

/// The Chatwoot simulator with account 1 and its administrator "Ada Admin", whose token
/// is [`ADMIN_TOKEN`].
pub(crate) async fn seeded_chatwoot() -> (SimulatorHandle, User) {
    let (chatwoot, mut users) =
        chatwoot_with_users(&[("Ada Admin", ADMIN_TOKEN, Role::Administrator)]).await;
    (chatwoot, users.remove(0))
}

/// Creates the instance `name` through the API at `api_url` and activates its
/// integration with the Chatwoot at `chatwoot_base_url` (account 1, [`ADMIN_TOKEN`]);
/// returns the instance's id.
pub(crate) async fn activate_integration(
    client: &reqwest::Client,
    api_url: &str,
    account_token: &str,
    chatwoot_base_url: &str,
    name: &str,
) -> String {
    let instance: Value = create_instance(client, api_url, account_token, name)
        .await
        .json()
        .await
        .unwrap();
    let activated = client
        .post(format!("{api_url}/api/chatwoot/set/{name}"))
        .header("token", account_token)
        .json(&json!({
            "chatwootBaseUrl": chatwoot_base_url,
            "chatwootAccountId": 1,
            "chatwootApiToken": ADMIN_TOKEN,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 201, "{:?}", activated.text().await);
    instance["data"]["id"].as_str().unwrap().to_owned()
}

/// Waits (up to two minutes) until `count` relayed messages are in Chatwoot.
pub(crate) async fn wait_for_relayed(chatwoot: &SimulatorHandle, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while relayed(&chatwoot.snapshot()).len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} messages reached Chatwoot",
            relayed(&chatwoot.snapshot()).len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts that Chatwoot holds each relayed message once, `chats` conversations of
/// `per_chat` messages each, every chat's in order: its texts sort as they were sent
/// (Chatwoot's ids grow with creation).
pub(crate) fn assert_each_landed_once_in_order(store: &Store, chats: usize, per_chat: usize) {
    let messages = relayed(store);
    let mut per_source: HashMap<&str, usize> = HashMap::new();
    for message in &messages {
        *per_source
            .entry(message.source_id.as_deref().unwrap())
            .or_default() += 1;
    }
    let duplicates: Vec<_> = per_source.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicated in Chatwoot: {duplicates:?}"
    );
    assert_eq!(
        messages.len(),
        chats * per_chat,
        "every message exactly once"
    );
    let mut per_conversation: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for message in &messages {
        per_conversation
            .entry(message.conversation_id)
            .or_default()
            .push(message.content.clone().unwrap_or_default());
    }
    assert_eq!(per_conversation.len(), chats, "one conversation per chat");
    for contents in per_conversation.values() {
        let mut sorted = contents.clone();
        sorted.sort();
        assert_eq!(contents, &sorted, "a chat's messages arrived out of order");
        assert_eq!(contents.len(), per_chat);
    }
}

pub(crate) struct SplitDeployment {
    pub chatwoot: SimulatorHandle,
    pub engine: EngineSimulatorHandle,
    pub admin: User,
    pub client: reqwest::Client,
    pub api_url: String,
    pub bridge_url: String,
    pub account_token: String,
    /// The id of the instance `loja`.
    pub instance_id: String,
    bridge: Option<Process>,
    bridge_env: Vec<(&'static str, String)>,
    bridge_directory: TempDir,
    api: Option<Process>,
    api_env: Vec<(&'static str, String)>,
    api_directory: TempDir,
}

/// One of the two services of a [`SplitDeployment`], each with its own directory,
/// settings and database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Api,
    Bridge,
}

impl SplitDeployment {
    /// Starts everything. The API reaches `engine` at `engine_url` (its own address, or
    /// something in front of it); `bridge_env` adds settings to the bridge's.
    pub(crate) async fn start(
        engine: EngineSimulatorHandle,
        engine_url: String,
        bridge_env: &[(&'static str, &str)],
    ) -> SplitDeployment {
        Self::start_with(engine, engine_url, &[], bridge_env).await
    }

    /// [`SplitDeployment::start`] with `api_env_extra` added to the API's settings too.
    pub(crate) async fn start_with(
        engine: EngineSimulatorHandle,
        engine_url: String,
        api_env_extra: &[(&'static str, &str)],
        bridge_env: &[(&'static str, &str)],
    ) -> SplitDeployment {
        let (chatwoot, admin) = seeded_chatwoot().await;
        let api_directory = tempfile::tempdir().unwrap();
        let bridge_directory = tempfile::tempdir().unwrap();
        let api_url = format!("http://127.0.0.1:{}", free_port());
        let bridge_port = free_port();
        let bridge_url = format!("http://127.0.0.1:{bridge_port}");
        let mut api_env = vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}", api_directory.path().join("api.db").display()),
            ),
            (
                "RYZE_LISTEN",
                api_url.trim_start_matches("http://").to_owned(),
            ),
            ("BRIDGE_URL", bridge_url.clone()),
            ("ENGINE_TOKEN", ENGINE_TOKEN.to_owned()),
            ("ENGINE_URL", engine_url),
        ];
        api_env.extend(
            api_env_extra
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        let mut all_bridge_env = vec![
            (
                "DATABASE_URL",
                format!(
                    "sqlite://{}",
                    bridge_directory.path().join("bridge.db").display()
                ),
            ),
            ("BRIDGE_LISTEN", format!("127.0.0.1:{bridge_port}")),
            ("API_URL", api_url.clone()),
        ];
        all_bridge_env.extend(
            bridge_env
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );

        let created = ryze(api_directory.path(), &api_env)
            .args(["account", "create", "--name", "Acme"])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(created.status.success());
        let account_token = printed_account_token(&created.stdout);
        let api = Process(
            ryze(api_directory.path(), &api_env)
                .arg("api")
                .spawn()
                .unwrap(),
        );
        let mut deployment = SplitDeployment {
            chatwoot,
            engine,
            admin,
            client: reqwest::Client::new(),
            api_url,
            bridge_url,
            account_token,
            instance_id: String::new(),
            bridge: None,
            bridge_env: all_bridge_env,
            bridge_directory,
            api: Some(api),
            api_env,
            api_directory,
        };
        deployment.start_bridge().await;
        wait_until_ready(&deployment.client, &deployment.api_url).await;
        deployment.instance_id = deployment.activate_loja().await;
        deployment
    }

    /// Creates the instance `loja` and activates its integration; returns its id.
    async fn activate_loja(&self) -> String {
        activate_integration(
            &self.client,
            &self.api_url,
            &self.account_token,
            &self.chatwoot.base_url(),
            "loja",
        )
        .await
    }

    /// Starts `ryze bridge` (again) and waits until it is ready.
    pub(crate) async fn start_bridge(&mut self) {
        self.bridge = Some(self.started(Service::Bridge).await);
    }

    /// SIGKILLs the bridge.
    pub(crate) fn kill_bridge(&mut self) {
        self.bridge.take().expect("the bridge runs").kill();
    }

    /// Stops the bridge (at the end of a test, so nothing more lands).
    pub(crate) fn stop_bridge(&mut self) {
        self.bridge = None;
    }

    /// Stops `ryze api`.
    pub(crate) fn stop_api(&mut self) {
        self.api.take().expect("the API runs").kill();
    }

    /// Starts `ryze api` (again) and waits until it is ready.
    pub(crate) async fn start_api(&mut self) {
        self.api = Some(self.started(Service::Api).await);
    }

    /// `service`'s directory and settings.
    fn directory_and_env(&self, service: Service) -> (&Path, &[(&'static str, String)]) {
        match service {
            Service::Api => (self.api_directory.path(), &self.api_env),
            Service::Bridge => (self.bridge_directory.path(), &self.bridge_env),
        }
    }

    /// `ryze api` or `ryze bridge`, once ready.
    async fn started(&self, service: Service) -> Process {
        let (directory, env) = self.directory_and_env(service);
        let (command, url) = match service {
            Service::Api => ("api", &self.api_url),
            Service::Bridge => ("bridge", &self.bridge_url),
        };
        let process = Process(ryze(directory, env).arg(command).spawn().unwrap());
        wait_until_ready(&self.client, url).await;
        process
    }

    /// The administrator answers `content` in `conversation`; waits until WhatsApp sent
    /// it (the engine carried the command out).
    pub(crate) async fn agent_reply_reaches_whatsapp(&self, conversation: u64, content: &str) {
        self.chatwoot
            .agent_reply(agent_public_reply(self.admin.id, conversation, content))
            .unwrap();
        let sent = self
            .engine
            .wait_until(Duration::from_secs(30), |commands| {
                commands.iter().any(|command| {
                    command.is_executed()
                        && command.text().is_some_and(|text| text.message == content)
                })
            })
            .await;
        assert!(
            sent,
            "the agent's reply never reached WhatsApp; webhook deliveries: {:#?}",
            self.chatwoot.webhook_deliveries()
        );
    }

    /// `contact` writes `text` on WhatsApp; waits until it lands in Chatwoot and returns
    /// its conversation's display id.
    pub(crate) async fn contact_writes(&self, contact: Contact, text: &str) -> u64 {
        let event = self
            .engine
            .script(self.instance_id.clone())
            .text(contact, text)
            .build();
        let EventPayload::MessageExchange(exchange) = &event.payload else {
            unreachable!("a text is a message");
        };
        let message_id = exchange.message.id.clone();
        let publisher = self.engine.publisher(&self.api_url, ENGINE_TOKEN).unwrap();
        assert!(publisher.publish(&event).await.unwrap().is_stored());
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let store = self.chatwoot.snapshot();
            let landed = store
                .messages
                .values()
                .find(|message| message.source_id.as_deref() == Some(message_id.as_str()));
            if let Some(message) = landed {
                return store.conversations[&message.conversation_id].display_id;
            }
            assert!(Instant::now() < deadline, "{text:?} never reached Chatwoot");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// From now on, every command of both services runs with `RYZE_MASTER_KEY=current`
    /// and `RYZE_PREVIOUS_MASTER_KEYS=previous`.
    pub(crate) fn set_master_keys(&mut self, current: &str, previous: &str) {
        for env in [&mut self.api_env, &mut self.bridge_env] {
            env.retain(|(name, _)| {
                !matches!(*name, "RYZE_MASTER_KEY" | "RYZE_PREVIOUS_MASTER_KEYS")
            });
            env.push(("RYZE_MASTER_KEY", current.to_owned()));
            env.push(("RYZE_PREVIOUS_MASTER_KEYS", previous.to_owned()));
        }
    }

    /// Runs `ryze <args>` as `service` would (its directory, settings and database, plus
    /// `extra_env`) and returns its output; `None` when it was still running after
    /// `within` (then killed).
    pub(crate) fn run(
        &self,
        service: Service,
        args: &[&str],
        extra_env: &[(&str, String)],
        within: Duration,
    ) -> Option<std::process::Output> {
        let (directory, env) = self.directory_and_env(service);
        let mut child = ryze(directory, env)
            .envs(extra_env.iter().map(|(name, value)| (name, value)))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + within;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(child.wait_with_output().unwrap())
    }
}
