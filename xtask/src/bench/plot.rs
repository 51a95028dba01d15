//! `target/bench/figures.svg`: each target figure of each backend as a bar of
//! "measured ÷ target", turned so that 1 or more always means the target is met
//! (for latency, memory and calls, lower is better, so the bar is target ÷ measured).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::figures::BackendFigures;
use super::report::{
    TARGET_P1_OVER_P0, TARGET_P2_CALLS, TARGET_P3_P99_MS, TARGET_P4_BYTES, TARGET_P5_PER_SECOND,
};

const LABELS: [&str; 5] = [
    "P1/P0 relay",
    "P2 calls/msg",
    "P3 p99 latency",
    "P4 idle memory",
    "P5 list req/s",
];
const COLORS: [RGBColor; 2] = [RGBColor(52, 101, 164), RGBColor(204, 102, 0)];
/// Bars are cut at this height (a figure far past its target).
const HIGHEST: f64 = 4.0;

/// How far past (≥ 1) or short of (< 1) each target `figures` is.
fn scores(figures: &BackendFigures) -> [f64; 5] {
    let score = |value: f64| {
        if value.is_finite() {
            value.min(HIGHEST)
        } else {
            HIGHEST
        }
    };
    [
        score(figures.p1_over_p0() / TARGET_P1_OVER_P0),
        score(TARGET_P2_CALLS / figures.p2_calls_per_message),
        score(TARGET_P3_P99_MS / figures.p3_p99_ms),
        score(TARGET_P4_BYTES / figures.p4_bytes_per_integration.max(1.0)),
        score(figures.p5_requests_per_second / TARGET_P5_PER_SECOND),
    ]
}

/// Draws the plot into `path`.
pub(crate) fn write(path: &Path, results: &[BackendFigures]) -> Result<()> {
    draw(path, results).map_err(|error| anyhow!("drawing {}: {error}", path.display()))
}

fn draw(path: &Path, results: &[BackendFigures]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let all_scores: Vec<[f64; 5]> = results.iter().map(scores).collect();
    let top = all_scores.iter().flatten().copied().fold(1.5_f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "cargo xtask bench: each figure against its target (1 = target met)",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0_f64..LABELS.len() as f64, 0_f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(0)
        .y_desc("measured vs target (higher is better)")
        .draw()?;
    let width = 0.8 / results.len().max(1) as f64;
    for (series, (figures, scores)) in results.iter().zip(&all_scores).enumerate() {
        let color = COLORS[series % COLORS.len()];
        let left = |index: usize| index as f64 + 0.1 + width * series as f64;
        chart
            .draw_series(scores.iter().enumerate().map(|(index, score)| {
                Rectangle::new(
                    [(left(index), 0.0), (left(index) + width * 0.9, *score)],
                    color.filled(),
                )
            }))?
            .label(figures.backend.title())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart.draw_series(scores.iter().enumerate().map(|(index, score)| {
            Text::new(
                format!("{score:.2}"),
                (left(index) + width * 0.2, score + top * 0.01),
                ("sans-serif", 13),
            )
        }))?;
    }
    chart.draw_series(LineSeries::new(
        [(0.0, 1.0), (LABELS.len() as f64, 1.0)],
        BLACK.stroke_width(2),
    ))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    for (index, label) in LABELS.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(index as f64 + 0.25, 0.0));
        root.draw(&Text::new(*label, (x, y + 12), ("sans-serif", 15)))?;
    }
    root.present()?;
    Ok(())
}
