//! `--plot`: the key-frame score curves (x = frame index, y = score in [0, 1], one line per
//! file) as PNG or SVG, drawn with plotters. Text uses DejaVu Sans embedded in the binary, so
//! no system font library is involved.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// The image kinds `--plot` writes, from the file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotKind {
    Png,
    Svg,
}

impl PlotKind {
    pub fn from_path(path: &Path) -> Option<PlotKind> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(PlotKind::Png),
            "svg" => Some(PlotKind::Svg),
            _ => None,
        }
    }
}

/// One curve: its label and its (frame index, score) points.
pub struct Series {
    pub label: String,
    pub points: Vec<(u64, f64)>,
}

const SIZE: (u32, u32) = (1000, 560);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is valid TrueType; a failure would only lose the text.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// A chart that can be drawn on any plotters backend.
trait Figure {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Draws `figure` into `path` as PNG or SVG.
fn render(path: &Path, kind: PlotKind, figure: &impl Figure) -> Result<(), String> {
    register_fonts();
    // plotters reports a file it cannot write as a Debug dump at the end; trying the file first
    // gives the reason in words, before any drawing.
    std::fs::File::create(path).map_err(|e| format!("--plot {}: cannot create the file: {e}", path.display()))?;
    let result = match kind {
        PlotKind::Png => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            figure.draw_on(&root).and_then(|()| root.present().map_err(|e| e.to_string()))
        }
        PlotKind::Svg => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            figure.draw_on(&root).and_then(|()| root.present().map_err(|e| e.to_string()))
        }
    };
    result.map_err(|e| format!("--plot {}: cannot draw or write the image: {e}", path.display()))
}

/// The series legend, in the lower right corner.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, DB, CT>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws the curves into `path`; the x axis spans frames 0 to `last_frame` (at least).
pub fn draw(path: &Path, kind: PlotKind, series: &[Series], last_frame: u64) -> Result<(), String> {
    render(path, kind, &Curves { series, last_frame })
}

struct Curves<'a> {
    series: &'a [Series],
    last_frame: u64,
}

impl Figure for Curves<'_> {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (series, last_frame) = (self.series, self.last_frame);
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let last = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).max().unwrap_or(0).max(last_frame).max(1);
        let mut chart = ChartBuilder::on(root)
            .caption("vsrqa key-frame scores", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0u64..last, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("frame index")
            .y_desc("score")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let style = ShapeStyle::from(color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(s.points.iter().map(|&(x, y)| (x, y.clamp(0.0, 1.0))), style))
                .map_err(err)?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(s.points.iter().map(|&(x, y)| Circle::new((x, y.clamp(0.0, 1.0)), 3, color.filled())))
                .map_err(err)?;
        }
        if !series.is_empty() {
            legend(&mut chart)?;
        }
        Ok(())
    }
}

/// One video of `vsrqa eval --plot`.
pub struct ScatterPoint {
    pub mos: f64,
    pub prediction: f64,
    pub group: Option<String>,
}

/// Predictions (y) against MOS (x), one color per group, the axes fitted to the data.
pub fn scatter(path: &Path, kind: PlotKind, points: &[ScatterPoint]) -> Result<(), String> {
    render(path, kind, &Scatter(points))
}

struct Scatter<'a>(&'a [ScatterPoint]);

/// `[min, max]` of the values with 5% margins (a unit span around a single value).
fn padded_range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.fold(f64::NEG_INFINITY, f64::max);
    if !min.is_finite() || !max.is_finite() {
        return 0.0..1.0;
    }
    let margin = if max > min { (max - min) * 0.05 } else { 0.5 };
    (min - margin)..(max + margin)
}

impl Figure for Scatter<'_> {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let points = self.0;
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
            .caption("vsrqa predictions against MOS", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(
                padded_range(points.iter().map(|p| p.mos)),
                padded_range(points.iter().map(|p| p.prediction)),
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("MOS")
            .y_desc("predicted score")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(err)?;
        let mut groups: Vec<Option<&str>> = points.iter().map(|p| p.group.as_deref()).collect();
        groups.sort();
        groups.dedup();
        for (i, group) in groups.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let members = points.iter().filter(|p| p.group.as_deref() == *group);
            chart
                .draw_series(members.map(|p| Circle::new((p.mos, p.prediction), 4, color.filled())))
                .map_err(err)?
                .label(group.unwrap_or("videos").to_string())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        if !points.is_empty() {
            legend(&mut chart)?;
        }
        Ok(())
    }
}
