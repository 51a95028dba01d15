//! The product as separate processes of the real binary, for the crash tests: `ryze api`
//! and `ryze bridge`, each with its own SQLite database, the Chatwoot and engine
//! simulators in the test process, and an instance `loja` with an active integration.
//! The bridge can be killed with SIGKILL and started again.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use chatwoot_simulator::model::User;
use chatwoot_simulator::{Role, SimulatorHandle};
use engine_simulator::EngineSimulatorHandle;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::harness::{
    chatwoot_with_users, create_instance, free_port, printed_account_token, wait_until_answers,
};
use super::product::{ADMIN_TOKEN, BRIDGE_TOKEN, ENGINE_TOKEN, MASTER_KEY};

/// A child process, killed when dropped, pass or fail.
pub(crate) struct Process(Child);

impl Process {
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
fn ryze(directory: &Path, env: &[(&str, String)]) -> Command {
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
    _api: Process,
    _api_directory: TempDir,
}

impl SplitDeployment {
    /// Starts everything. The API reaches `engine` at `engine_url` (its own address, or
    /// something in front of it); `bridge_env` adds settings to the bridge's.
    pub(crate) async fn start(
        engine: EngineSimulatorHandle,
        engine_url: String,
        bridge_env: &[(&'static str, &str)],
    ) -> SplitDeployment {
        let (chatwoot, admin) = seeded_chatwoot().await;
        let api_directory = tempfile::tempdir().unwrap();
        let bridge_directory = tempfile::tempdir().unwrap();
        let api_url = format!("http://127.0.0.1:{}", free_port());
        let bridge_port = free_port();
        let bridge_url = format!("http://127.0.0.1:{bridge_port}");
        let api_env = vec![
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
            _api: api,
            _api_directory: api_directory,
        };
        deployment.start_bridge().await;
        wait_until_ready(&deployment.client, &deployment.api_url).await;
        deployment.instance_id = deployment.activate_loja().await;
        deployment
    }

    /// Creates the instance `loja` and activates its integration; returns its id.
    async fn activate_loja(&self) -> String {
        let instance: Value =
            create_instance(&self.client, &self.api_url, &self.account_token, "loja")
                .await
                .json()
                .await
                .unwrap();
        let activated = self
            .client
            .post(format!("{}/api/chatwoot/set/loja", self.api_url))
            .header("token", &self.account_token)
            .json(&json!({
                "chatwootBaseUrl": self.chatwoot.base_url(),
                "chatwootAccountId": 1,
                "chatwootApiToken": ADMIN_TOKEN,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(activated.status(), 201);
        instance["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Starts `ryze bridge` (again) and waits until it is ready.
    pub(crate) async fn start_bridge(&mut self) {
        self.bridge = Some(Process(
            ryze(self.bridge_directory.path(), &self.bridge_env)
                .arg("bridge")
                .spawn()
                .unwrap(),
        ));
        wait_until_ready(&self.client, &self.bridge_url).await;
    }

    /// SIGKILLs the bridge.
    pub(crate) fn kill_bridge(&mut self) {
        self.bridge.take().expect("the bridge runs").kill();
    }

    /// Stops the bridge (at the end of a test, so nothing more lands).
    pub(crate) fn stop_bridge(&mut self) {
        self.bridge = None;
    }
}
