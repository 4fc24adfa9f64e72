//! The ratios chart: one horizontal bar per workload/metric/peer showing
//! driverbox ÷ peer on a log scale, drawn from the line at 1.0 (same as
//! the peer) towards the ratio, green where driverbox does at least as
//! well as the peer and red where it does worse.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::results::{Better, Ratio};

const GOOD: RGBColor = RGBColor(46, 139, 87);
const BAD: RGBColor = RGBColor(205, 92, 92);

/// Whether a ratio is a headline worth a bar (the table has them all).
pub fn in_chart(r: &Ratio) -> bool {
    let w1 = r.workload.starts_with("W1");
    let w6 = r.workload.starts_with("W6");
    !(w1 && r.metric == "throughput"
        || w6 && r.metric != "p99 latency" && r.metric != "throughput"
        || r.metric.ends_with("first query p99"))
}

fn label(r: &Ratio) -> String {
    let w = r.workload.split(' ').next().unwrap_or("");
    let sqlite = if r.workload.contains("SQLite") {
        " SQLite"
    } else if r.workload.contains("MongoDB") {
        " MongoDB"
    } else {
        ""
    };
    let dir = if r.better == Better::Lower { "↓" } else { "↑" };
    format!("{w}{sqlite} {} {dir}  {} ÷ {}", r.metric, r.driverbox, r.peer)
}

/// Draws the headline `ratios` into an SVG file.
pub fn draw(path: &Path, title: &str, ratios: &[Ratio]) -> Result<(), Box<dyn std::error::Error>> {
    let ratios: Vec<&Ratio> = ratios.iter().filter(|r| in_chart(r) && r.ratio > 0.0).collect();
    let n = ratios.len().max(1) as i32;
    let height = 150 + 26 * n as u32;
    let root = SVGBackend::new(path, (1150, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let lo = ratios.iter().map(|r| r.ratio).fold(0.5f64, f64::min) / 1.3;
    let hi = ratios.iter().map(|r| r.ratio).fold(2.0f64, f64::max) * 1.3;
    let labels: Vec<String> = ratios.iter().rev().map(|r| label(r)).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 19))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(470)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_labels(12)
        .x_label_formatter(&|x| format!("{x:.2}"))
        .x_desc("driverbox ÷ peer, log scale (median of rounds). ↓ lower is better, ↑ higher is better; green: driverbox not worse")
        .draw()?;
    let count = ratios.len() as i32;
    chart.draw_series(ratios.iter().enumerate().map(|(i, r)| {
        let y = count - 1 - i as i32;
        let color = if r.driverbox_not_worse { GOOD } else { BAD };
        let (a, b) = if r.ratio < 1.0 { (r.ratio, 1.0) } else { (1.0, r.ratio) };
        let mut bar = Rectangle::new(
            [(a, SegmentValue::Exact(y)), (b, SegmentValue::Exact(y + 1))],
            color.mix(0.85).filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        bar
    }))?;
    chart.draw_series(ratios.iter().enumerate().map(|(i, r)| {
        let y = count - 1 - i as i32;
        let text = format!("{:.2}", r.ratio);
        // Right of a bar going right, left of one going left.
        let (x, anchor) = if r.ratio >= 1.0 {
            (r.ratio * 1.02, Pos::new(HPos::Left, VPos::Center))
        } else {
            (r.ratio / 1.02, Pos::new(HPos::Right, VPos::Center))
        };
        Text::new(
            text,
            (x, SegmentValue::CenterOf(y)),
            TextStyle::from(("sans-serif", 13).into_font()).pos(anchor),
        )
    }))?;
    chart.draw_series(LineSeries::new(
        vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
        BLACK.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}
