//! The binary as a new user meets it, in an empty directory with nothing configured:
//! `ryze account create`, then `ryze api` (no bridge) or `ryze serve` (API and bridge)
//! on the embedded default.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use crate::support::harness::{
    chatwoot_with_users, create_instance, free_port, printed_account_token, wait_until_answers,
};

fn ryze(directory: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ryze"));
    command
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info");
    command
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn without_a_bridge_every_module_endpoint_of_the_api_answers_503() {
    let directory = tempfile::tempdir().unwrap();
    let output = ryze(directory.path())
        .args(["account", "create", "--name", "Acme"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = printed_account_token(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("created a new master key file"), "{stderr}");

    let key_file = directory.path().join("data/master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode");
    }
    assert!(directory.path().join("data/ryze.db").exists());

    let port = free_port();
    let _server = Server(
        ryze(directory.path())
            .env("RYZE_LISTEN", format!("127.0.0.1:{port}"))
            .arg("api")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_until_answers(&client, &base, "/healthz").await;

    let created: Value = create_instance(&client, &base, &token, "suporte")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["data"]["name"], "suporte");

    let answer = |status: u16, message: &str| {
        (
            status,
            json!({"success": false, "error": {"message": message}}),
        )
    };
    let set = client
        .post(format!("{base}/api/chatwoot/set/suporte"))
        .header("token", &token)
        .json(&json!({"chatwootBaseUrl": "https://chatwoot.example.com", "chatwootAccountId": 5, "chatwootApiToken": "abc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (set.status().as_u16(), set.json::<Value>().await.unwrap()),
        answer(
            503,
            "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
        )
    );
    let list = client
        .get(format!("{base}/api/chatwoot/list/suporte"))
        .header("token", &token)
        .send()
        .await
        .unwrap();
    // `suporte` has no integration: without a bridge the 503 comes first.
    assert_eq!(
        (list.status().as_u16(), list.json::<Value>().await.unwrap()),
        answer(
            503,
            "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
        )
    );
    let delete = client
        .delete(format!("{base}/api/chatwoot/delete/suporte"))
        .header("token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            delete.status().as_u16(),
            delete.json::<Value>().await.unwrap()
        ),
        answer(
            503,
            "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)"
        )
    );
}

#[test]
fn account_create_prints_the_token_alone_with_quiet_and_an_object_with_json() {
    let directory = tempfile::tempdir().unwrap();
    let quiet = ryze(directory.path())
        .args(["account", "create", "--name", "Acme", "--quiet"])
        .output()
        .unwrap();
    assert!(quiet.status.success());
    let printed = String::from_utf8(quiet.stdout).unwrap();
    // What `TOKEN_ACCOUNT=$(ryze account create --name Acme --quiet)` keeps.
    let token = printed.trim_end_matches('\n');
    assert!(
        token.starts_with("ryzeacc_") && !token.contains(char::is_whitespace),
        "{printed:?}"
    );

    let json = ryze(directory.path())
        .args([
            "account",
            "create",
            "--name",
            "Orion \"Loja\"",
            "--instance-quota",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(json.status.success());
    let account: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(account["name"], "Orion \"Loja\"");
    assert_eq!(account["instanceQuota"], 3);
    assert!(account["id"].as_str().unwrap().starts_with("acc_"));
    assert!(account["token"].as_str().unwrap().starts_with("ryzeacc_"));
    assert_ne!(account["token"], token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_provisions_an_inbox_in_chatwoot_with_nothing_configured() {
    let (chatwoot, _users) = chatwoot_with_users(&[(
        "Ada",
        "admin-token-for-cli-test",
        chatwoot_simulator::Role::Administrator,
    )])
    .await;

    let directory = tempfile::tempdir().unwrap();
    // BRIDGE_TOKEN alone is a valid `serve` setup, and operator commands accept it.
    let created = ryze(directory.path())
        .env("BRIDGE_TOKEN", "shared-bridge-token-for-cli-0123456789")
        .args(["account", "create", "--name", "Acme"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = printed_account_token(&created.stdout);
    let (api_port, bridge_port) = (free_port(), free_port());
    let _server = Server(
        ryze(directory.path())
            .env("RYZE_LISTEN", format!("127.0.0.1:{api_port}"))
            .env("BRIDGE_LISTEN", format!("127.0.0.1:{bridge_port}"))
            .env("BRIDGE_TOKEN", "shared-bridge-token-for-cli-0123456789")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{api_port}");
    let client = reqwest::Client::new();
    wait_until_answers(&client, &base, "/healthz").await;
    let instance = create_instance(&client, &base, &token, "suporte").await;
    assert_eq!(instance.status(), 201);
    let set = client
        .post(format!("{base}/api/chatwoot/set/suporte"))
        .header("token", &token)
        .json(&json!({
            "chatwootBaseUrl": chatwoot.base_url(),
            "chatwootAccountId": 1,
            "chatwootApiToken": "admin-token-for-cli-test",
            "inboxName": "WhatsApp"
        }))
        .send()
        .await
        .unwrap();
    let status = set.status().as_u16();
    let body: Value = set.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let inboxes: Vec<_> = chatwoot.snapshot().inboxes.into_values().collect();
    assert_eq!(inboxes.len(), 1);
    assert!(inboxes[0]
        .webhook_url
        .as_deref()
        .unwrap()
        .starts_with(&format!(
            "http://127.0.0.1:{bridge_port}/v1/webhooks/chatwoot/int_"
        )));
}

#[test]
fn production_mode_refuses_to_start_without_a_master_key() {
    let directory = tempfile::tempdir().unwrap();
    let output = ryze(directory.path())
        .env("RYZE_MODE", "production")
        .args(["account", "create", "--name", "Acme"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("production mode refuses to start without RYZE_MASTER_KEY"),
        "{stderr}"
    );
    assert!(!directory.path().join("data/master.key").exists());
}

#[test]
fn keys_generate_prints_a_usable_key_and_rotation_reseals() {
    let directory = tempfile::tempdir().unwrap();
    let output = ryze(directory.path())
        .args(["keys", "generate"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(key.len(), 44, "base64 of 32 bytes: {key}");

    // An account under the key file, then a rotation: the file gains a new current key.
    let created = ryze(directory.path())
        .args(["account", "create", "--name", "Acme"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let before = std::fs::read_to_string(directory.path().join("data/master.key")).unwrap();
    let rotated = ryze(directory.path())
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let after = std::fs::read_to_string(directory.path().join("data/master.key")).unwrap();
    assert_ne!(before, after);
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("re-sealed 0 secret(s)"));
}

#[test]
fn migrate_applies_pending_migrations_once() {
    let directory = tempfile::tempdir().unwrap();
    let first = ryze(directory.path()).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let applied = String::from_utf8(first.stdout).unwrap();
    assert!(applied.lines().count() >= 3, "{applied}");
    assert!(
        applied.lines().all(|line| line.starts_with("applied ")),
        "{applied}"
    );

    let second = ryze(directory.path()).arg("migrate").output().unwrap();
    assert!(second.status.success());
    assert_eq!(
        String::from_utf8(second.stdout).unwrap(),
        "database is up to date\n"
    );

    let unknown = ryze(directory.path())
        .env("DATABASE_URL", "mysql://localhost/ryze")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("DATABASE_URL must start with postgres://, postgresql:// or sqlite://"));
}

#[test]
fn the_demo_plays_both_ways_with_nothing_configured_and_exits_zero() {
    let directory = tempfile::tempdir().unwrap();
    let output = ryze(directory.path())
        .arg("demo")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for seen in [
        "incoming message \"Oi! Meu pedido **1234** já saiu?\"",
        "attachment etiqueta.jpg (image/jpeg",
        "shown as a reply to message",
        "\"*Ana Souza*:\\nSim! Saiu *hoje* pela manhã.\"",
        "for everyone: true",
        "every step was seen on the other side",
    ] {
        assert!(stdout.contains(seen), "missing {seen:?} in:\n{stdout}");
    }
    assert_eq!(
        std::fs::read_dir(directory.path()).unwrap().count(),
        0,
        "the demo leaves nothing behind in the working directory"
    );
}
