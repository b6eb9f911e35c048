//! The trend chart, drawn with plotters: an upper panel with the mean stance per period, its
//! interval band, the rolling mean, the zero line and the change points; a lower panel with
//! articles and distinct stories per period. Renders SVG (text kept as text) and PNG, with the
//! DejaVu Sans font compiled in, so nothing depends on system fonts. The only user of plotters.

use std::sync::OnceLock;

use plotters::coord::Shift as AreaShift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::trend::{Bucket, Trend, TrendParams};
use crate::error::{Error, Result};

/// One line on the chart: a name for the legend and its trend. All series of one chart must
/// share the same periods (compute them with the same [`TrendParams::span`]).
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend name, e.g. `Cuba → United States`.
    pub name: String,
    /// The trend to draw.
    pub trend: &'a Trend,
}

/// What the chart says about itself: title and the settings its notes describe.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// The title line.
    pub title: String,
    /// The parameters the trends were computed with (for the axis and the notes).
    pub params: TrendParams,
    /// A note appended to the method notes (e.g. the model id).
    pub note: String,
    /// Size in pixels (default 1400 × 820).
    pub size: (u32, u32),
    /// The trends come from period aggregates (their intervals are normal, not bootstrap).
    pub from_aggregates: bool,
}

impl ChartSpec {
    /// A chart spec with the default size.
    pub fn new(title: &str, params: &TrendParams, note: &str) -> ChartSpec {
        ChartSpec {
            title: title.to_string(),
            params: params.clone(),
            note: note.to_string(),
            size: (1400, 820),
            from_aggregates: false,
        }
    }

    /// Marks the trends as drawn from period aggregates, which the notes then describe.
    pub fn from_aggregates(mut self) -> ChartSpec {
        self.from_aggregates = true;
        self
    }

    /// The method notes printed under the chart (and reused in CSV and reports).
    pub fn method_notes(&self) -> Vec<String> {
        let p = &self.params;
        let first = if self.from_aggregates {
            format!(
                "Mean of distinct stories per {} from period aggregates (stories counted where the aggregates were computed); band: {:.0}% normal interval, mean ± z·sd/√stories.",
                p.bucket.as_str(),
                p.level * 100.0,
            )
        } else {
            format!(
                "Mean of distinct stories per {} (near-duplicate copies averaged, counted once); band: {:.0}% percentile bootstrap interval ({} resamples, fixed seed {}).",
                p.bucket.as_str(),
                p.level * 100.0,
                p.resamples,
                p.seed
            )
        };
        let mut notes = vec![
            first,
            format!(
                "Hollow markers: fewer than {} stories, no interval. Dashed: rolling mean over {} periods. Vertical lines: change points (binary segmentation, BIC-style penalty).",
                p.min_stories, p.rolling
            ),
        ];
        if !self.note.is_empty() {
            notes.push(self.note.clone());
        }
        notes
    }
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 120, 20),
    RGBColor(44, 150, 44),
    RGBColor(148, 103, 189),
];
/// Width kept right of both panels for their legends, so no legend hides data.
const LEGEND_W: u32 = 330;
const SHIFT: RGBColor = RGBColor(200, 30, 30);
const THIN: RGBColor = RGBColor(150, 150, 150);

fn font_ready() -> Result<()> {
    static FONT: OnceLock<bool> = OnceLock::new();
    let ok = *FONT.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Font)
    }
}

/// An error of `what`, caused by `e`.
fn chart_error(what: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Chart {
        what,
        source: Box::new(e),
    }
}

/// Draws the chart as an SVG document.
///
/// # Errors
/// [`Error::Font`] when the font does not load; [`Error::Chart`] when plotters fails.
pub fn svg(spec: &ChartSpec, series: &[Series<'_>]) -> Result<String> {
    font_ready()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, spec.size).into_drawing_area();
        draw(&root, spec, series).map_err(|e| chart_error("drawing the chart", e))?;
        root.present()
            .map_err(|e| chart_error("drawing the chart", e))?;
    }
    // plotters escapes markup in text but passes control characters through, and XML (and an
    // SVG inside HTML) cannot hold them: a series name from the input may carry one.
    if out.contains(super::document::is_forbidden_char) {
        out = out
            .chars()
            .map(|c| match c {
                '\n' | '\t' | '\r' => c,
                c if super::document::is_forbidden_char(c) => '\u{fffd}',
                c => c,
            })
            .collect();
    }
    Ok(out)
}

/// Draws the chart as PNG file bytes.
///
/// # Errors
/// [`Error::Font`] when the font does not load; [`Error::Chart`] when plotters or the PNG
/// encoder fails.
pub fn png(spec: &ChartSpec, series: &[Series<'_>]) -> Result<Vec<u8>> {
    font_ready()?;
    let (w, h) = spec.size;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, spec.size).into_drawing_area();
        draw(&root, spec, series).map_err(|e| chart_error("drawing the chart", e))?;
        root.present()
            .map_err(|e| chart_error("drawing the chart", e))?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| chart_error("encoding the PNG", e))?;
    Ok(bytes)
}

use image::ImageEncoder;

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, AreaShift>,
    spec: &ChartSpec,
    series: &[Series<'_>],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let n = series.first().map_or(0, |s| s.trend.periods.len());
    let labels: Vec<String> = series
        .first()
        .map(|s| s.trend.periods.iter().map(|p| p.label.clone()).collect())
        .unwrap_or_default();
    let (w, h) = spec.size;
    let notes = spec.method_notes();
    let notes_h = 18 * notes.len() as u32 + 12;
    let (main, foot) = root.split_vertically(h - notes_h);
    let main = main.titled(
        &spec.title,
        ("sans-serif", 26).into_font().style(FontStyle::Bold),
    )?;
    let main_h = main.dim_in_pixel().1;
    let (upper, lower) = main.split_vertically((main_h as f64 * 0.70) as u32);

    let x_range = -0.6..(n.max(1) as f64 - 0.4);
    let max_label = |x: &f64| -> String {
        let r = x.round();
        if (x - r).abs() > 0.01 || r < 0.0 || r as usize >= labels.len() {
            String::new()
        } else {
            labels[r as usize].clone()
        }
    };
    let x_labels = n.clamp(1, (w as usize / 90).max(2));

    let mut up = ChartBuilder::on(&upper)
        .margin_left(10)
        .margin_right(LEGEND_W)
        .margin_top(6)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.clone(), -1.0f64..1.0f64)?;
    up.configure_mesh()
        .x_labels(x_labels)
        .x_label_formatter(&max_label)
        .y_labels(9)
        .y_label_formatter(&|y| format!("{y:+.2}"))
        .y_desc("Stance score (+ conciliatory / − confrontational)")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;

    // Zero line.
    up.draw_series(LineSeries::new(
        [(x_range.start, 0.0), (x_range.end, 0.0)],
        BLACK.stroke_width(1),
    ))?;

    let multi = series.len() > 1;
    let mut upper_legend: Vec<(String, Mark)> = Vec::new();
    let mut lower_legend: Vec<(String, Mark)> = Vec::new();
    for (si, s) in series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        let periods = &s.trend.periods;
        let prefix = if multi {
            format!("{}: ", s.name)
        } else {
            String::new()
        };

        // Interval band: one polygon per run of consecutive periods with an interval.
        let mut runs: Vec<Vec<(f64, (f64, f64))>> = Vec::new();
        let mut current = Vec::new();
        for (i, p) in periods.iter().enumerate() {
            match p.interval {
                Some(iv) => current.push((i as f64, iv)),
                None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
                None => {}
            }
        }
        if !current.is_empty() {
            runs.push(current);
        }
        let band = color.mix(0.22).filled();
        let mut labelled = false;
        for run in &runs {
            let poly: Vec<(f64, f64)> = if run.len() == 1 {
                let (x, (lo, hi)) = run[0];
                vec![
                    (x - 0.18, lo),
                    (x + 0.18, lo),
                    (x + 0.18, hi),
                    (x - 0.18, hi),
                ]
            } else {
                run.iter()
                    .map(|&(x, (_, hi))| (x, hi))
                    .chain(run.iter().rev().map(|&(x, (lo, _))| (x, lo)))
                    .collect()
            };
            up.draw_series(std::iter::once(Polygon::new(poly, band)))?;
            if !labelled {
                upper_legend.push((
                    format!(
                        "{prefix}{:.0}% bootstrap interval",
                        spec.params.level * 100.0
                    ),
                    Mark::Box(color.mix(0.22)),
                ));
                labelled = true;
            }
        }

        // Mean line: faint through every non-empty period (thin ones included), solid only
        // between consecutive periods with enough stories; broken across empty periods.
        let mut faint: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        let mut solid: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, p) in periods.iter().enumerate() {
            match p.mean {
                Some(m) => faint.last_mut().expect("one").push((i as f64, m)),
                None => faint.push(Vec::new()),
            }
            match p.mean.filter(|_| !p.thin) {
                Some(m) => solid.last_mut().expect("one").push((i as f64, m)),
                None => solid.push(Vec::new()),
            }
        }
        let any_solid = solid.iter().any(|s| !s.is_empty());
        let mut labelled_faint = false;
        for seg in faint.into_iter().filter(|s| s.len() > 1) {
            up.draw_series(LineSeries::new(seg, color.mix(0.45).stroke_width(1)))?;
            if !any_solid && !labelled_faint {
                labelled_faint = true;
                upper_legend.push((
                    format!("{}: mean (all periods thin)", s.name),
                    Mark::Line(color.mix(0.45), 1),
                ));
            }
        }
        let thin_style = if multi {
            color.mix(0.9).stroke_width(2)
        } else {
            THIN.stroke_width(2)
        };
        let mut labelled = false;
        for seg in solid.into_iter().filter(|s| !s.is_empty()) {
            up.draw_series(LineSeries::new(seg, color.stroke_width(2)))?;
            if !labelled {
                upper_legend.push((
                    format!("{}: mean per {}", s.name, spec.params.bucket.as_str()),
                    Mark::Line(color.into(), 2),
                ));
                labelled = true;
            }
        }
        up.draw_series(periods.iter().enumerate().filter_map(|(i, p)| {
            let m = p.mean?;
            Some(if p.thin {
                Circle::new((i as f64, m), 6, thin_style)
            } else {
                Circle::new((i as f64, m), 5, color.filled())
            })
        }))?;

        // Rolling mean.
        let rolling: Vec<(f64, f64)> = periods
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.rolling.map(|r| (i as f64, r)))
            .collect();
        if rolling.len() > 1 {
            let style = color.mix(0.8).stroke_width(2);
            up.draw_series(DashedLineSeries::new(rolling, 8, 5, style))?;
            upper_legend.push((
                format!("{prefix}rolling mean ({} periods)", spec.params.rolling),
                Mark::Dashed(color.mix(0.8)),
            ));
        }

        // Change points.
        let shift_color = if multi { color } else { SHIFT };
        let mut labelled = false;
        for sh in &s.trend.shifts {
            let x = sh.period as f64 - 0.5;
            let style = shift_color.stroke_width(2);
            up.draw_series(DashedLineSeries::new([(x, -1.0), (x, 1.0)], 6, 4, style))?;
            if !labelled {
                upper_legend.push((
                    format!("{prefix}change point"),
                    Mark::Vertical(shift_color.into()),
                ));
                labelled = true;
            }
            let y = 0.93;
            up.draw_series(std::iter::once(Text::new(
                format!("{} {:+.2}", periods[sh.period].label, sh.delta()),
                (x + 0.08, y - 0.07 * si as f64),
                ("sans-serif", 14).into_font().color(&shift_color),
            )))?;
        }
    }
    // A legend entry for thin periods.
    if series
        .iter()
        .any(|s| s.trend.periods.iter().any(|p| p.thin))
    {
        upper_legend.push((
            format!(
                "fewer than {} stories (no interval)",
                spec.params.min_stories
            ),
            Mark::Hollow(if multi { BLACK.into() } else { THIN.into() }),
        ));
    }
    let legend_x = (w - LEGEND_W + 16) as i32;
    draw_legend(&upper, legend_x, 14, &upper_legend)?;

    // Volume panel.
    let max_articles = series
        .iter()
        .flat_map(|s| s.trend.periods.iter().map(|p| p.articles))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut low = ChartBuilder::on(&lower)
        .margin_left(10)
        .margin_right(LEGEND_W)
        .margin_bottom(4)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0.0..(max_articles as f64 * 1.15))?;
    low.configure_mesh()
        .x_labels(x_labels)
        .x_label_formatter(&max_label)
        .y_labels(4)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc("Articles")
        .x_desc(format!("Date ({})", spec.params.bucket.as_str()))
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    let k = series.len().max(1) as f64;
    let slot = 0.8 / k;
    for (si, s) in series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        let left = |i: usize| i as f64 - 0.4 + slot * si as f64 + slot * 0.08;
        let right = |i: usize| i as f64 - 0.4 + slot * (si + 1) as f64 - slot * 0.08;
        let prefix = if multi {
            format!("{}: ", s.name)
        } else {
            String::new()
        };
        let light = color.mix(0.3).filled();
        low.draw_series(
            s.trend
                .periods
                .iter()
                .enumerate()
                .filter(|(_, p)| p.articles > 0)
                .map(|(i, p)| {
                    Rectangle::new([(left(i), 0.0), (right(i), p.articles as f64)], light)
                }),
        )?;
        lower_legend.push((
            format!("{prefix}articles (copies included)"),
            Mark::Box(color.mix(0.3)),
        ));
        low.draw_series(
            s.trend
                .periods
                .iter()
                .enumerate()
                .filter(|(_, p)| p.stories > 0)
                .map(|(i, p)| {
                    Rectangle::new(
                        [(left(i), 0.0), (right(i), p.stories as f64)],
                        color.filled(),
                    )
                }),
        )?;
        lower_legend.push((format!("{prefix}distinct stories"), Mark::Box(color.into())));
    }
    draw_legend(&lower, legend_x, 8, &lower_legend)?;

    for (i, note) in notes.iter().enumerate() {
        foot.draw(&Text::new(
            note.clone(),
            (14, 4 + 18 * i as i32),
            ("sans-serif", 13).into_font().color(&RGBColor(70, 70, 70)),
        ))?;
    }
    Ok(())
}

/// How a legend entry is drawn.
enum Mark {
    Box(RGBAColor),
    Line(RGBAColor, u32),
    Dashed(RGBAColor),
    Vertical(RGBAColor),
    Hollow(RGBAColor),
}

/// Draws a legend at pixel `(x, y)` of `area`: one row per entry, mark then label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    x: i32,
    y: i32,
    entries: &[(String, Mark)],
) -> DrawResult<DB> {
    let font = ("sans-serif", 13).into_font().color(&BLACK);
    for (i, (label, mark)) in entries.iter().enumerate() {
        let cy = y + 20 * i as i32 + 7;
        match *mark {
            Mark::Box(c) => {
                area.draw(&Rectangle::new([(x, cy - 6), (x + 24, cy + 6)], c.filled()))?
            }
            Mark::Line(c, width) => area.draw(&PathElement::new(
                vec![(x, cy), (x + 24, cy)],
                c.stroke_width(width),
            ))?,
            Mark::Dashed(c) => {
                for k in 0..3 {
                    let x0 = x + 9 * k;
                    area.draw(&PathElement::new(
                        vec![(x0, cy), (x0 + 6, cy)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Mark::Vertical(c) => {
                for k in 0..3 {
                    let y0 = cy - 8 + 6 * k;
                    area.draw(&PathElement::new(
                        vec![(x + 12, y0), (x + 12, y0 + 4)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Mark::Hollow(c) => area.draw(&Circle::new((x + 12, cy), 5, c.stroke_width(2)))?,
        }
        area.draw(&Text::new(label.clone(), (x + 32, cy - 8), font.clone()))?;
    }
    Ok(())
}

/// The default title of a chart of these series.
pub fn title(series: &[Series<'_>], bucket: Bucket) -> String {
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    format!(
        "Stance over time by {}: {}",
        bucket.as_str(),
        names.join(" vs ")
    )
}
