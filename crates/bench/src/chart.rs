//! The SVG chart of the report: the SDK mix's latency (p50, p99, p99.9) against the rate offered
//! in its fixed-rate runs, so the knee where latency takes off is visible at a glance.

use plotters::prelude::*;
use std::path::Path;

/// One fixed-rate run: the offered rate (requests per second) and its latency quantiles (ms).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub offered: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

/// Reads one latency quantile (ms) of a run.
type Quantile = fn(&Point) -> f64;

/// Draws `points` to an SVG file at `path` (latency on a logarithmic axis).
pub fn latency_against_rate(path: &Path, points: &[Point]) -> anyhow::Result<()> {
    let points: Vec<Point> = points.iter().copied().filter(|p| p.p999_ms.is_finite() && p.p50_ms > 0.0).collect();
    anyhow::ensure!(!points.is_empty(), "no fixed-rate run to chart");
    let max_rate = points.iter().map(|p| p.offered).fold(0.0, f64::max) * 1.1;
    let (min_ms, max_ms) = points
        .iter()
        .flat_map(|p| [p.p50_ms, p.p99_ms, p.p999_ms])
        .fold((f64::MAX, 0.0f64), |(lo, hi), ms| (lo.min(ms), hi.max(ms)));
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("SDK mix: latency against offered rate", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_rate, (min_ms * 0.8..max_ms * 1.25).log_scale())?;
    chart.configure_mesh().x_desc("offered rate (requests/s)").y_desc("latency (ms)").draw()?;
    let series: [(&str, Quantile, RGBColor); 3] =
        [("p50", |p| p.p50_ms, BLUE), ("p99", |p| p.p99_ms, RED), ("p99.9", |p| p.p999_ms, BLACK)];
    for (label, quantile, color) in series {
        let line: Vec<(f64, f64)> = points.iter().map(|p| (p.offered, quantile(p))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))?;
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_every_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latency.svg");
        let points = [
            Point { offered: 500.0, p50_ms: 2.0, p99_ms: 6.0, p999_ms: 9.0 },
            Point { offered: 2000.0, p50_ms: 3.0, p99_ms: 14.0, p999_ms: 30.0 },
        ];
        latency_against_rate(&path, &points).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("p99.9") && svg.contains("offered rate"));
        assert!(latency_against_rate(&path, &[]).is_err());
    }
}
