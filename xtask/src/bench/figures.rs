//! The six figures of one backend, measured in order on one server (P4 on a second,
//! fresh one): P0 the Chatwoot simulator alone, P1 relay throughput, P2 Chatwoot calls
//! per relayed message, P3 added latency at half of P1's rate, P5 `list` requests per
//! second, P4 memory per idle integration. Every relayed message is checked to have
//! landed once and in its chat's order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use serde_json::json;

use super::chatwoot_process::{ChatwootProcess, CHATWOOT_ACCOUNT_ID, CHATWOOT_TOKEN};
use super::database::BenchDatabase;
use super::ryze_process::{cpu_seconds_of, RyzeProcess};
use super::scenario::{Api, BenchInstance};
use super::{Backend, Binaries, Sizes};

/// Longest wait for a phase's messages to reach Chatwoot.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Connections of the `list` load (P5).
const LIST_CONNECTIONS: usize = 32;

/// What one backend measured.
#[derive(Debug, Clone)]
pub(crate) struct BackendFigures {
    pub backend: Backend,
    /// P0: message POSTs per second straight into the simulator.
    pub p0_messages_per_second: f64,
    /// Where P0's CPU went, in milliseconds per message.
    pub p0_cpu: CpuPerMessage,
    /// P1: messages per second, engine POST → Chatwoot message.
    pub p1_messages_per_second: f64,
    pub p1_messages: usize,
    /// Where P1's CPU went, in milliseconds per message.
    pub p1_cpu: CpuPerMessage,
    /// Every P1 and P3 message landed once, in its chat's order.
    pub relayed_once_in_order: bool,
    /// P2: Chatwoot requests per relayed message, and by endpoint.
    pub p2_calls_per_message: f64,
    pub p2_calls_by_endpoint: BTreeMap<String, f64>,
    /// P3: the rate it was measured at (messages per second) and the percentiles.
    pub p3_rate: f64,
    pub p3_p50_ms: f64,
    pub p3_p99_ms: f64,
    pub p3_samples: usize,
    /// P4: resident memory per idle active integration, and the two readings.
    pub p4_bytes_per_integration: f64,
    pub p4_integrations: usize,
    pub p4_resident_before: u64,
    pub p4_resident_after: u64,
    /// P5: `list` answers per second at 32 connections, and the ones that failed.
    pub p5_requests_per_second: f64,
    pub p5_failed: u64,
}

/// CPU time (user and system) each process used during a phase, in milliseconds per
/// message of the phase: what the machine's cores were spent on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuPerMessage {
    /// `ryze serve` (zero in P0, where it is idle).
    pub server: f64,
    pub chatwoot: f64,
    /// The bench's own process: the engine's side and the load generators.
    pub bench: f64,
}

/// CPU seconds used so far by the server, the simulator and the bench.
struct CpuReading {
    server: f64,
    chatwoot: f64,
    bench: f64,
}

impl CpuReading {
    fn now(server: &RyzeProcess, chatwoot: &ChatwootProcess) -> Result<CpuReading> {
        Ok(CpuReading {
            server: server.cpu_seconds()?,
            chatwoot: chatwoot.cpu_seconds()?,
            bench: cpu_seconds_of(std::process::id())?,
        })
    }

    /// Milliseconds per message spent by each process since `earlier`.
    fn per_message_since(&self, earlier: &CpuReading, messages: usize) -> CpuPerMessage {
        let per_message = |now: f64, then: f64| (now - then) * 1000.0 / messages as f64;
        CpuPerMessage {
            server: per_message(self.server, earlier.server),
            chatwoot: per_message(self.chatwoot, earlier.chatwoot),
            bench: per_message(self.bench, earlier.bench),
        }
    }
}

impl BackendFigures {
    pub(crate) fn p1_over_p0(&self) -> f64 {
        self.p1_messages_per_second / self.p0_messages_per_second
    }
}

/// Measures every figure on `backend`.
pub(crate) async fn measure(
    backend: Backend,
    binaries: &Binaries,
    postgres_server: Option<&str>,
    sizes: &Sizes,
    scratch: &Path,
) -> Result<BackendFigures> {
    let load_scratch = scratch.join(format!("{backend}-load"));
    std::fs::create_dir_all(&load_scratch)?;
    let chatwoot = ChatwootProcess::start(&binaries.chatwoot_simulator, &load_scratch).await?;
    let database = BenchDatabase::create(backend, &load_scratch, postgres_server).await?;
    let measured = async {
        let server = RyzeProcess::start(&binaries.ryze, &database.url, &load_scratch).await?;
        measure_load(&server, &chatwoot, sizes).await
    }
    .await;
    database.drop_database().await?;
    let mut figures = measured?;
    figures.backend = backend;

    let idle_scratch = scratch.join(format!("{backend}-idle"));
    std::fs::create_dir_all(&idle_scratch)?;
    let database = BenchDatabase::create(backend, &idle_scratch, postgres_server).await?;
    let idle = async {
        let server = RyzeProcess::start(&binaries.ryze, &database.url, &idle_scratch).await?;
        measure_idle_memory(&server, &chatwoot, sizes.idle_integrations).await
    }
    .await;
    database.drop_database().await?;
    let (before, after) = idle?;
    figures.p4_integrations = sizes.idle_integrations;
    figures.p4_resident_before = before;
    figures.p4_resident_after = after;
    figures.p4_bytes_per_integration =
        after.saturating_sub(before) as f64 / sizes.idle_integrations as f64;
    // Printed too, so that a later backend's failure does not lose it.
    println!(
        "xtask bench:   P4 {:.1} KiB per idle integration ({} integrations: {:.1} → {:.1} MiB)",
        figures.p4_bytes_per_integration / 1024.0,
        sizes.idle_integrations,
        before as f64 / 1_048_576.0,
        after as f64 / 1_048_576.0
    );
    drop(chatwoot);
    Ok(figures)
}

/// P0, P1, P2, P3 and P5 on one server.
async fn measure_load(
    server: &RyzeProcess,
    chatwoot: &ChatwootProcess,
    sizes: &Sizes,
) -> Result<BackendFigures> {
    let api = &Api::new(server)?;
    let chatwoot_url = chatwoot.base_url();
    let instances: Vec<BenchInstance> = try_join_all((0..sizes.instances).map(|number| {
        let chatwoot_url = chatwoot_url.clone();
        async move {
            api.create_instance(
                &format!("bench{number}"),
                sizes.chats_per_instance,
                &chatwoot_url,
                number,
            )
            .await
        }
    }))
    .await?;
    for instance in &instances {
        api.wait_until_connected(&instance.name).await?;
    }
    let instances = Arc::new(instances);
    let chats = sizes.instances * sizes.chats_per_instance;

    // Steady state: every contact and conversation exists.
    chatwoot.clear_requests().await?;
    burst(api, &instances, "warm", 1).await?;
    chatwoot
        .wait_for_stored_messages(chats as u64, DRAIN_TIMEOUT)
        .await?;

    let before_p0 = CpuReading::now(server, chatwoot)?;
    let p0 = simulator_alone(chatwoot, sizes).await?;
    let p0_cpu = CpuReading::now(server, chatwoot)?.per_message_since(
        &before_p0,
        sizes.instances * sizes.direct_messages_per_worker,
    );
    println!(
        "xtask bench:   P0 {p0:.0} message POSTs/s (simulator alone); CPU ms/msg: simulator {:.2}, bench {:.2}",
        p0_cpu.chatwoot, p0_cpu.bench
    );

    chatwoot.clear_requests().await?;
    let relayed = chats * sizes.messages_per_chat;
    let before_p1 = CpuReading::now(server, chatwoot)?;
    let started = Instant::now();
    burst(api, &instances, "p1", sizes.messages_per_chat).await?;
    let finished = chatwoot
        .wait_for_stored_messages(relayed as u64, DRAIN_TIMEOUT)
        .await?;
    let p1_cpu = CpuReading::now(server, chatwoot)?.per_message_since(&before_p1, relayed);
    let p1 = relayed as f64 / finished.duration_since(started).as_secs_f64();
    let counts = chatwoot.request_counts().await?;
    let calls: u64 = counts.values().map(|count| count.total()).sum();
    let p2_by_endpoint = counts
        .iter()
        .map(|(endpoint, count)| (endpoint.clone(), count.total() as f64 / relayed as f64))
        .collect();
    println!(
        "xtask bench:   P1 {p1:.0} msg/s (P1/P0 {:.2}), P2 {:.2} Chatwoot calls per message",
        p1 / p0,
        calls as f64 / relayed as f64
    );
    println!(
        "xtask bench:   P1 CPU ms/msg: server {:.2}, simulator {:.2}, bench {:.2}",
        p1_cpu.server, p1_cpu.chatwoot, p1_cpu.bench
    );

    let p3_rate = (p1 / 2.0).max(1.0);
    let latencies = latency_at(api, chatwoot, &instances, p3_rate, sizes).await?;
    let p3_p50 = percentile(&latencies, 50.0);
    let p3_p99 = percentile(&latencies, 99.0);
    println!("xtask bench:   P3 p50 {p3_p50:.1} ms, p99 {p3_p99:.1} ms at {p3_rate:.0} msg/s");

    let relayed_once_in_order =
        landed_once_in_order(chatwoot, &[("p1", sizes.messages_per_chat)], chats).await?;

    let (p5, p5_failed) = list_load(api, &instances, sizes.list_duration).await?;
    println!("xtask bench:   P5 {p5:.0} list req/s ({p5_failed} failed)");

    Ok(BackendFigures {
        backend: Backend::Sqlite,
        p0_messages_per_second: p0,
        p0_cpu,
        p1_messages_per_second: p1,
        p1_messages: relayed,
        p1_cpu,
        relayed_once_in_order,
        p2_calls_per_message: calls as f64 / relayed as f64,
        p2_calls_by_endpoint: p2_by_endpoint,
        p3_rate,
        p3_p50_ms: p3_p50,
        p3_p99_ms: p3_p99,
        p3_samples: latencies.len(),
        p4_bytes_per_integration: 0.0,
        p4_integrations: 0,
        p4_resident_before: 0,
        p4_resident_after: 0,
        p5_requests_per_second: p5,
        p5_failed,
    })
}

/// Text `phase-instance-chat-sequence`: which message it is, for the checks.
fn text_of(phase: &str, instance: usize, chat: usize, sequence: usize) -> String {
    format!("{phase}-{instance}-{chat}-{sequence}")
}

/// Every instance posts `per_chat` messages to each of its chats, round robin, one
/// event at a time; instances in parallel.
async fn burst(
    api: &Api,
    instances: &Arc<Vec<BenchInstance>>,
    phase: &str,
    per_chat: usize,
) -> Result<()> {
    try_join_all(
        instances
            .iter()
            .enumerate()
            .map(|(number, instance)| async move {
                for sequence in 0..per_chat {
                    for chat in 0..instance.chats.len() {
                        api.post_text(instance, chat, &text_of(phase, number, chat, sequence))
                            .await?;
                    }
                }
                anyhow::Ok(())
            }),
    )
    .await?;
    Ok(())
}

/// P0: as many workers as instances POST messages straight into the simulator's
/// existing conversations, each waiting for its answer before the next.
async fn simulator_alone(chatwoot: &ChatwootProcess, sizes: &Sizes) -> Result<f64> {
    let conversations: Vec<u64> = chatwoot
        .conversations()
        .await?
        .iter()
        .map(|conversation| conversation.display_id)
        .collect();
    ensure!(!conversations.is_empty(), "no conversation to post into");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = chatwoot.base_url();
    let started = Instant::now();
    try_join_all((0..sizes.instances).map(|worker| {
        let client = client.clone();
        let base = base.clone();
        let conversations = &conversations;
        async move {
            for sequence in 0..sizes.direct_messages_per_worker {
                let conversation =
                    conversations[(worker + sequence * sizes.instances) % conversations.len()];
                let answer = client
                    .post(format!(
                        "{base}/api/v1/accounts/{CHATWOOT_ACCOUNT_ID}/conversations/{conversation}/messages"
                    ))
                    .header("api_access_token", CHATWOOT_TOKEN)
                    .json(&json!({
                        "content": text_of("p0", worker, 0, sequence),
                        "message_type": "incoming",
                        "private": false,
                    }))
                    .send()
                    .await?;
                ensure!(
                    answer.status().is_success(),
                    "the simulator answered {} to a message",
                    answer.status()
                );
            }
            anyhow::Ok(())
        }
    }))
    .await?;
    let total = sizes.instances * sizes.direct_messages_per_worker;
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// P3: every instance sends on a fixed schedule (together `rate` messages per second,
/// each instance's events still one at a time); the latency of a message is the time
/// from the moment its event was posted to the moment the simulator stored it.
async fn latency_at(
    api: &Api,
    chatwoot: &ChatwootProcess,
    instances: &Arc<Vec<BenchInstance>>,
    rate: f64,
    sizes: &Sizes,
) -> Result<Vec<f64>> {
    let total = ((rate * sizes.latency_seconds) as usize)
        .clamp(instances.len(), sizes.latency_max_messages);
    let per_instance = total.div_ceil(instances.len());
    let interval = Duration::from_secs_f64(instances.len() as f64 / rate);
    chatwoot.clear_requests().await?;
    let started = tokio::time::Instant::now();
    let sent: Vec<Vec<(String, DateTime<Utc>)>> = try_join_all(instances.iter().enumerate().map(
        |(number, instance)| async move {
            // Spread the instances over one interval.
            let offset = interval.mul_f64(number as f64 / instances.len() as f64);
            let mut sent = Vec::with_capacity(per_instance);
            for sequence in 0..per_instance {
                tokio::time::sleep_until(started + offset + interval * sequence as u32).await;
                let chat = sequence % instance.chats.len();
                let text = text_of("p3", number, chat, sequence);
                let at = Utc::now();
                api.post_text(instance, chat, &text).await?;
                sent.push((text, at));
            }
            anyhow::Ok(sent)
        },
    ))
    .await?;
    let sent: HashMap<String, DateTime<Utc>> = sent.into_iter().flatten().collect();
    chatwoot
        .wait_for_stored_messages(sent.len() as u64, DRAIN_TIMEOUT)
        .await?;
    let stored = chatwoot.messages().await?;
    let mut latencies: Vec<f64> = stored
        .iter()
        .filter_map(|message| {
            let sent_at = sent.get(message.content.as_deref()?)?;
            let micros = (message.created_at - *sent_at).num_microseconds()?;
            Some(micros as f64 / 1000.0)
        })
        .collect();
    ensure!(
        latencies.len() == sent.len(),
        "{} of the {} timed messages were found in Chatwoot",
        latencies.len(),
        sent.len()
    );
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// The `percent` percentile of sorted `values` (nearest rank).
fn percentile(sorted: &[f64], percent: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Whether every message of `phases` (name, messages per chat) is in Chatwoot exactly
/// once, each chat's in the order they were sent.
async fn landed_once_in_order(
    chatwoot: &ChatwootProcess,
    phases: &[(&str, usize)],
    chats: usize,
) -> Result<bool> {
    let mut messages = chatwoot.messages().await?;
    messages.sort_by_key(|message| message.id);
    let mut healthy = true;
    for (phase, per_chat) in phases {
        let prefix = format!("{phase}-");
        // (instance, chat) → sequences in the order Chatwoot stored them.
        let mut by_chat: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for message in &messages {
            let Some(rest) = message
                .content
                .as_deref()
                .and_then(|c| c.strip_prefix(&prefix))
            else {
                continue;
            };
            let parts: Vec<usize> = rest.split('-').filter_map(|p| p.parse().ok()).collect();
            if let [instance, chat, sequence] = parts[..] {
                by_chat.entry((instance, chat)).or_default().push(sequence);
            }
        }
        let expected: Vec<usize> = (0..*per_chat).collect();
        let good = by_chat.len() == chats && by_chat.values().all(|seen| *seen == expected);
        if !good {
            eprintln!("xtask bench: the {phase} messages did not all land once and in order");
        }
        healthy &= good;
    }
    Ok(healthy)
}

/// P5: `LIST_CONNECTIONS` clients call `list` on the instances in turn for `duration`.
async fn list_load(
    api: &Api,
    instances: &Arc<Vec<BenchInstance>>,
    duration: Duration,
) -> Result<(f64, u64)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(LIST_CONNECTIONS)
        .build()?;
    let urls: Vec<String> = instances
        .iter()
        .map(|instance| format!("{}/api/chatwoot/list/{}", api.url, instance.name))
        .collect();
    let started = Instant::now();
    let deadline = started + duration;
    let outcomes = try_join_all((0..LIST_CONNECTIONS).map(|worker| {
        let client = client.clone();
        let urls = &urls;
        async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut turn = worker;
            while Instant::now() < deadline {
                let answer = client
                    .get(&urls[turn % urls.len()])
                    .header("token", &api.account_token)
                    .send()
                    .await?;
                let success = answer.status().is_success();
                // Read the whole body, as a client would.
                answer.bytes().await?;
                if success {
                    ok += 1;
                } else {
                    failed += 1;
                }
                turn += 1;
            }
            anyhow::Ok((ok, failed))
        }
    }))
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let ok: u64 = outcomes.iter().map(|(ok, _)| ok).sum();
    let failed: u64 = outcomes.iter().map(|(_, failed)| failed).sum();
    Ok((ok as f64 / elapsed, failed))
}

/// P4: the server's resident memory before and after `count` integrations were
/// activated and connected, then left idle.
async fn measure_idle_memory(
    server: &RyzeProcess,
    chatwoot: &ChatwootProcess,
    count: usize,
) -> Result<(u64, u64)> {
    let api = Api::new(server)?;
    // One request of each kind first, so what every process allocates once is in the
    // baseline.
    let warm = api
        .create_instance("idle-warm", 1, &chatwoot.base_url(), 0)
        .await?;
    api.wait_until_connected(&warm.name).await?;
    let before = settled_resident(server).await?;
    let chatwoot_url = chatwoot.base_url();
    let names: Vec<String> = (0..count).map(|number| format!("idle{number}")).collect();
    for group in names.chunks(8) {
        try_join_all(
            group
                .iter()
                .enumerate()
                .map(|(offset, name)| api.create_instance(name, 1, &chatwoot_url, 10_000 + offset)),
        )
        .await?;
    }
    for name in &names {
        api.wait_until_connected(name).await?;
    }
    let after = settled_resident(server).await?;
    if after < before {
        bail!("the server's memory shrank from {before} to {after} bytes; measure again");
    }
    Ok((before, after))
}

/// The server's resident memory once two readings 250 ms apart differ by under 1 %.
async fn settled_resident(server: &RyzeProcess) -> Result<u64> {
    let mut previous = server.resident_bytes()?;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let current = server
            .resident_bytes()
            .context("reading the server's memory")?;
        if current.abs_diff(previous) * 100 < previous {
            return Ok(current);
        }
        previous = current;
    }
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values[..1], 99.0), 1.0);
    }
}
