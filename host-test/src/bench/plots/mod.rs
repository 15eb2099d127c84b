//! The bench's plots, as SVG (plotters' SVG backend writes text as `<text>`, so no font is
//! needed): `latency.svg` (the latency CDF of each operation, per side), `handoff.svg` (lock
//! handoff p50 against contenders, per client) and `requests.svg` (requests per acquisition
//! against contenders).

mod series;

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::locks::RunFigures;
use super::{OPERATIONS, Report, SIDES};
pub use series::{bounds, cdf, contention};

/// Points per CDF line.
const CDF_POINTS: usize = 200;

/// Writes the three plots of `report` into `dir`; their paths.
///
/// # Errors
/// When a file cannot be written.
pub fn write(report: &Report, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let latency = dir.join("latency.svg");
    latency_cdfs(report, &latency)?;
    let mut written = vec![latency];
    for (file, metric, title, y_desc) in CURVES {
        let path = dir.join(file);
        curve(&contention(&report.locks, metric), title, y_desc, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The contention plots: file, figure, title, y axis.
type CurveSpec = (
    &'static str,
    fn(&RunFigures) -> f64,
    &'static str,
    &'static str,
);

/// The contention plots `write` draws.
const CURVES: [CurveSpec; 2] = [
    (
        "handoff.svg",
        RunFigures::handoff_p50_ms,
        "lock handoff p50 (release returned → next holder's acquire returned)",
        "handoff p50, ms",
    ),
    (
        "requests.svg",
        RunFigures::requests_per_acquisition,
        "apiserver requests per successful acquisition",
        "requests / acquisition",
    ),
];

/// A plotting failure as an error naming the file.
fn failed(path: &Path) -> impl Fn(String) -> anyhow::Error + '_ {
    move |e| anyhow!("plotting {}: {e}", path.display())
}

/// One panel per operation: the CDF of each side's latencies, log x.
fn latency_cdfs(report: &Report, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(path)(e.to_string()))?;
    for (panel, op) in root.split_evenly((2, 2)).iter().zip(OPERATIONS) {
        let lines: Vec<(&str, Vec<(f64, f64)>)> = SIDES
            .iter()
            .map(|&side| (side, cdf(&report.latencies.of(side, op), CDF_POINTS)))
            .collect();
        let (lo, hi) = bounds(lines.iter().map(|(_, s)| s), true).unwrap_or((1.0, 10.0));
        draw(
            panel,
            &lines,
            &format!("{op}: latency CDF"),
            ("latency, µs", "fraction ≤ x"),
            (lo * 0.9..hi * 1.1, 0.0..1.0, false),
        )
        .map_err(failed(path))?;
    }
    root.present().map_err(|e| failed(path)(e.to_string()))
}

/// Contention curves: contenders on a log x, the figure on a log y.
fn curve(
    lines: &[(&str, Vec<(f64, f64)>)],
    title: &str,
    y_desc: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(path)(e.to_string()))?;
    let (lo, hi) = bounds(lines.iter().map(|(_, s)| s), false).unwrap_or((0.1, 10.0));
    draw(
        &root,
        lines,
        title,
        ("contenders on one lease", y_desc),
        (0.8..80.0, lo / 2.0..hi * 2.0, true),
    )
    .map_err(failed(path))?;
    root.present().map_err(|e| failed(path)(e.to_string()))
}

/// One chart on `area`: a line (with markers when `log_y`) per series, log x, log y when
/// `log_y`, and a legend.
fn draw(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    lines: &[(&str, Vec<(f64, f64)>)],
    title: &str,
    descs: (&str, &str),
    (xs, ys, log_y): (Range<f64>, Range<f64>, bool),
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area);
    chart
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    let built = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    if log_y {
        let chart = chart
            .build_cartesian_2d(xs.log_scale(), ys.log_scale())
            .map_err(built)?;
        plot(chart, lines, descs, true)
    } else {
        let chart = chart
            .build_cartesian_2d(xs.log_scale(), ys)
            .map_err(built)?;
        plot(chart, lines, descs, false)
    }
}

/// Draws the mesh, the series (with a marker at each point when `markers`) and the legend.
fn plot<'a, X, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    lines: &[(&str, Vec<(f64, f64)>)],
    (x_desc, y_desc): (&str, &str),
    markers: bool,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        if markers {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}
