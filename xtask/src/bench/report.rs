//! `target/bench/report.md`: every figure of every backend next to its target, the
//! Chatwoot calls per endpoint, and how the run was made.

use std::fmt::Write as _;

use super::figures::BackendFigures;
use super::Sizes;

/// The targets (issue 11), also drawn in the plot.
pub(crate) const TARGET_P1_OVER_P0: f64 = 0.5;
pub(crate) const TARGET_P2_CALLS: f64 = 1.0;
pub(crate) const TARGET_P3_P99_MS: f64 = 5.0;
pub(crate) const TARGET_P4_BYTES: f64 = 64.0 * 1024.0;
pub(crate) const TARGET_P5_PER_SECOND: f64 = 10_000.0;

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}

/// The report's markdown.
pub(crate) fn markdown(
    results: &[BackendFigures],
    sizes: &Sizes,
    quick: bool,
    build: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# `cargo xtask bench` report\n");
    if quick {
        let _ = writeln!(
            out,
            "**Quick run** (`--quick`): a smoke test of the bench itself; its numbers mean nothing.\n"
        );
    }
    let _ = writeln!(
        out,
        "Builds: {build}. Engine: {} instances × {} chats; P1 {} messages per chat; P4 {} idle integrations. \
         Machine: {} cores. Started {}.\n",
        sizes.instances,
        sizes.chats_per_instance,
        sizes.messages_per_chat,
        sizes.idle_integrations,
        std::thread::available_parallelism().map_or(0, usize::from),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    for figures in results {
        let _ = writeln!(out, "## {}\n", figures.backend.title());
        let _ = writeln!(
            out,
            "| Figure | Measured | Target | |\n| --- | --- | --- | --- |"
        );
        let rows = [
            (
                "P0 simulator alone, message POSTs/s",
                format!("{:.0}", figures.p0_messages_per_second),
                "(reference)".to_owned(),
                "",
            ),
            (
                "P1 relay, engine POST → Chatwoot message, msg/s",
                format!(
                    "{:.0} (P1/P0 {:.2}; {} messages)",
                    figures.p1_messages_per_second,
                    figures.p1_over_p0(),
                    figures.p1_messages
                ),
                format!("P1/P0 ≥ {TARGET_P1_OVER_P0}"),
                verdict(figures.p1_over_p0() >= TARGET_P1_OVER_P0),
            ),
            (
                "P2 Chatwoot calls per steady-state message",
                format!("{:.2}", figures.p2_calls_per_message),
                format!("{TARGET_P2_CALLS:.1}"),
                verdict(figures.p2_calls_per_message <= TARGET_P2_CALLS + 0.005),
            ),
            (
                "P3 added latency, engine POST → Chatwoot POST",
                format!(
                    "p50 {:.1} ms, p99 {:.1} ms at {:.0} msg/s ({} samples)",
                    figures.p3_p50_ms, figures.p3_p99_ms, figures.p3_rate, figures.p3_samples
                ),
                format!("p99 ≤ {TARGET_P3_P99_MS} ms at half of P1"),
                verdict(figures.p3_p99_ms <= TARGET_P3_P99_MS),
            ),
            (
                "P4 memory per idle active integration",
                format!(
                    "{:.1} KiB ({} integrations: {:.1} → {:.1} MiB)",
                    figures.p4_bytes_per_integration / 1024.0,
                    figures.p4_integrations,
                    figures.p4_resident_before as f64 / 1048576.0,
                    figures.p4_resident_after as f64 / 1048576.0
                ),
                "≤ 64 KiB".to_owned(),
                verdict(figures.p4_bytes_per_integration <= TARGET_P4_BYTES),
            ),
            (
                "P5 `GET /api/chatwoot/list/:instance`, req/s at 32 connections",
                format!(
                    "{:.0} ({} failed)",
                    figures.p5_requests_per_second, figures.p5_failed
                ),
                format!("≥ {TARGET_P5_PER_SECOND:.0}"),
                verdict(
                    figures.p5_requests_per_second >= TARGET_P5_PER_SECOND
                        && figures.p5_failed == 0,
                ),
            ),
        ];
        for (figure, measured, target, met) in rows {
            let _ = writeln!(out, "| {figure} | {measured} | {target} | {met} |");
        }
        let _ = writeln!(
            out,
            "\nEvery P1 message landed once, in its chat's order: {}.\n",
            if figures.relayed_once_in_order {
                "yes"
            } else {
                "**no**"
            }
        );
        let _ = writeln!(
            out,
            "CPU time per message (user and system, ms): P0 simulator {:.2}, bench {:.2}; \
             P1 server {:.2}, simulator {:.2}, bench {:.2}.\n",
            figures.p0_cpu.chatwoot,
            figures.p0_cpu.bench,
            figures.p1_cpu.server,
            figures.p1_cpu.chatwoot,
            figures.p1_cpu.bench,
        );
        let _ = writeln!(out, "Chatwoot calls per relayed P1 message, by endpoint:\n");
        for (endpoint, per_message) in &figures.p2_calls_by_endpoint {
            let _ = writeln!(out, "- `{endpoint}`: {per_message:.2}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "See `docs/benchmarks.md` for what each figure means; the plot is `figures.svg`."
    );
    out
}

/// The one-line summary of a backend printed at the end of a run.
pub(crate) fn summary_line(figures: &BackendFigures) -> String {
    format!(
        "{}: P1/P0 {:.2} ({:.0}/{:.0} msg/s), P2 {:.2} calls/msg, P3 p99 {:.1} ms, P4 {:.1} KiB/integration, P5 {:.0} req/s",
        figures.backend.title(),
        figures.p1_over_p0(),
        figures.p1_messages_per_second,
        figures.p0_messages_per_second,
        figures.p2_calls_per_message,
        figures.p3_p99_ms,
        figures.p4_bytes_per_integration / 1024.0,
        figures.p5_requests_per_second,
    )
}
