//! ROC, precision-recall and reliability plots as PNG (feature `plots`).
//!
//! Pure Rust: plotters' bitmap backend with the DejaVu Sans font embedded from the
//! `dejavu` crate, so no system fonts or native libraries are needed. Files are written
//! to a temporary name and renamed, so a reader never sees a half-written PNG.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::bootstrap::CurveBand;
use crate::calibration::CalibrationReport;
use crate::curves::{PrCurve, RocCurve};
use crate::error::{Error, Result};

const SIZE: (u32, u32) = (720, 640);
const FONT: &str = "sans-serif";
/// A readable dark green for the reliability curve.
const CALIBRATION: RGBColor = RGBColor(0, 140, 70);

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is valid; a failure here would only lose the labels.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Draws into a temporary `.png` beside `path`, then renames it into place.
fn write_png(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    fonts();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| plot_error(path, e))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{stem}.tmp-{}.png", std::process::id()));
    let drawn = draw(&tmp);
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| plot_error(path, e))
}

/// A band as a closed polygon (upper edge forward, lower edge back).
fn band_polygon(band: &CurveBand) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = band
        .x
        .iter()
        .copied()
        .zip(band.upper.iter().copied())
        .collect();
    pts.extend(band.x.iter().copied().zip(band.lower.iter().copied()).rev());
    pts.retain(|(_, y)| y.is_finite());
    pts
}

/// The ROC curve with an optional pointwise confidence band; `label` goes in the legend
/// (e.g. "AUROC 0.91 [0.86, 0.95]").
///
/// # Errors
/// [`Error::Plot`] naming the file when drawing or writing fails.
pub fn roc_png(
    path: &Path,
    curve: &RocCurve,
    band: Option<&CurveBand>,
    title: &str,
    label: &str,
) -> Result<()> {
    write_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("1 - specificity (false-positive rate)")
            .y_desc("sensitivity")
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        if let Some(b) = band {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band_polygon(b),
                    BLUE.mix(0.18).filled(),
                )))
                .map_err(|e| plot_error(path, e))?
                .label(format!("{:.0}% bootstrap band", 100.0 * b.level))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.mix(0.18).filled())
                });
        }
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.35)))
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(LineSeries::new(
                curve.fpr.iter().copied().zip(curve.tpr.iter().copied()),
                BLUE.stroke_width(2),
            ))
            .map_err(|e| plot_error(path, e))?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLUE.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::LowerRight).map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))
    })
}

/// The precision-recall curve with an optional band and the prevalence baseline.
///
/// # Errors
/// [`Error::Plot`] naming the file when drawing or writing fails.
pub fn pr_png(
    path: &Path,
    curve: &PrCurve,
    band: Option<&CurveBand>,
    prevalence: f64,
    title: &str,
    label: &str,
) -> Result<()> {
    write_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("recall (sensitivity)")
            .y_desc("precision")
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        if let Some(b) = band {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band_polygon(b),
                    RED.mix(0.15).filled(),
                )))
                .map_err(|e| plot_error(path, e))?
                .label(format!("{:.0}% bootstrap band", 100.0 * b.level))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], RED.mix(0.15).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, prevalence), (1.0, prevalence)],
                BLACK.mix(0.35),
            ))
            .map_err(|e| plot_error(path, e))?
            .label(format!("prevalence {prevalence:.3}"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.mix(0.35)));
        // Precision is constant between recall steps: draw the step function.
        let mut steps = Vec::with_capacity(2 * curve.recall.len());
        for i in 0..curve.recall.len() {
            if i > 0 {
                steps.push((curve.recall[i - 1], curve.precision[i]));
            }
            steps.push((curve.recall[i], curve.precision[i]));
        }
        chart
            .draw_series(LineSeries::new(steps, RED.stroke_width(2)))
            .map_err(|e| plot_error(path, e))?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], RED.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::LowerLeft).map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))
    })
}

/// The reliability curve: observed fraction of positives against mean predicted
/// probability per equal-mass bin, with Wilson intervals and the diagonal.
///
/// # Errors
/// [`Error::Plot`] naming the file when drawing or writing fails.
pub fn reliability_png(path: &Path, report: &CalibrationReport, title: &str) -> Result<()> {
    write_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("mean predicted probability")
            .y_desc("observed fraction positive")
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.35)))
            .map_err(|e| plot_error(path, e))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.mix(0.35)));
        chart
            .draw_series(report.bins.iter().map(|b| {
                PathElement::new(
                    [
                        (b.mean_predicted, b.ci_lower),
                        (b.mean_predicted, b.ci_upper),
                    ],
                    CALIBRATION.stroke_width(2),
                )
            }))
            .map_err(|e| plot_error(path, e))?
            .label(format!("{:.0}% Wilson interval", 100.0 * report.level))
            .legend(|(x, y)| {
                PathElement::new(
                    [(x + 9, y - 6), (x + 9, y + 6)],
                    CALIBRATION.stroke_width(2),
                )
            });
        chart
            .draw_series(LineSeries::new(
                report
                    .bins
                    .iter()
                    .map(|b| (b.mean_predicted, b.fraction_positive)),
                CALIBRATION.stroke_width(2),
            ))
            .map_err(|e| plot_error(path, e))?
            .label(format!("ECE {:.3}, Brier {:.3}", report.ece, report.brier))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], CALIBRATION.stroke_width(2)));
        chart
            .draw_series(report.bins.iter().map(|b| {
                Circle::new(
                    (b.mean_predicted, b.fraction_positive),
                    4,
                    CALIBRATION.filled(),
                )
            }))
            .map_err(|e| plot_error(path, e))?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft).map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))
    })
}

type UnitChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut UnitChart<'a, DB>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BootstrapConfig, Clusters, calibration, curve_bands, pr_curve, roc_curve};

    fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn count(rgb: &[u8], pred: impl Fn(u8, u8, u8) -> bool) -> usize {
        rgb.chunks(3).filter(|p| pred(p[0], p[1], p[2])).count()
    }

    #[test]
    fn plots_are_real_pngs_with_curves_bands_and_text() {
        let labels: Vec<bool> = (0..300).map(|i| i % 3 == 0).collect();
        let scores: Vec<f64> = (0..300)
            .map(|i| f64::from((i * 37) % 101) / 150.0 + if i % 3 == 0 { 0.3 } else { 0.0 })
            .collect();
        let clusters = Clusters::from_ids(&(0..300).map(|i| i / 2).collect::<Vec<_>>());
        let bands = curve_bands(
            &labels,
            &scores,
            &clusters,
            BootstrapConfig::new().with_replicates(200),
            51,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();

        let roc = dir.path().join("roc.png");
        roc_png(
            &roc,
            &roc_curve(&labels, &scores).unwrap(),
            Some(&bands.roc),
            "ROC",
            "AUROC 0.80",
        )
        .unwrap();
        let (w, h, rgb) = decode(&roc);
        assert_eq!((w, h), SIZE);
        let curve = count(&rgb, |r, g, b| b > 200 && r < 60 && g < 60);
        let band = count(&rgb, |r, g, b| {
            b > 220 && r > 180 && r < 230 && g > 180 && g < 230
        });
        let ink = count(&rgb, |r, g, b| r < 80 && g < 80 && b < 80);
        assert!(curve > 500, "curve pixels {curve}");
        assert!(band > 2000, "band pixels {band}");
        assert!(ink > 1000, "text and axes pixels {ink}");

        let pr = dir.path().join("pr.png");
        pr_png(
            &pr,
            &pr_curve(&labels, &scores).unwrap(),
            Some(&bands.pr),
            1.0 / 3.0,
            "PR",
            "AP 0.6",
        )
        .unwrap();
        let (_, _, rgb) = decode(&pr);
        assert!(count(&rgb, |r, g, b| r > 200 && g < 60 && b < 60) > 500);

        let probs: Vec<f64> = scores
            .iter()
            .map(|s| s / 1.0f64.max(0.95))
            .map(|s| s.min(1.0))
            .collect();
        let cal = calibration(&labels, &probs, 10, 0.95).unwrap();
        let rel = dir.path().join("reliability.png");
        reliability_png(&rel, &cal, "Reliability").unwrap();
        let (_, _, rgb) = decode(&rel);
        assert!(count(&rgb, |r, g, b| g > 100 && r < 60 && b < 100) > 200);

        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["pr.png", "reliability.png", "roc.png"],
            "no temporary files may remain"
        );
    }

    #[test]
    fn unwritable_destination_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let target = blocker.join("roc.png");
        let curve = roc_curve(&[true, false], &[0.9, 0.1]).unwrap();
        let err = roc_png(&target, &curve, None, "t", "l").unwrap_err();
        assert!(err.to_string().contains("roc.png"), "{err}");
    }
}
