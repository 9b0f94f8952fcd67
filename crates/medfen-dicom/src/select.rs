//! Choosing the one series of an exam to build the volume from, by explicit rules.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::Plane;
use crate::series::SeriesSummary;

/// How a tie between equally good series is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TieBreak {
    /// A tie is an error naming the candidates (the default).
    #[default]
    Error,
    /// Take the lowest Series Number (then the lowest UID).
    LowestSeriesNumber,
    /// Take the highest Series Number (often the latest reconstruction).
    HighestSeriesNumber,
}

/// The rules of [`choose_series`]. `Default` is the documented behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectionPolicy {
    /// Required modality (default `CT`; `None` accepts any).
    pub modality: Option<String>,
    /// Kernels to prefer, most preferred first (case-insensitive substring match),
    /// applied after spacing and slice count.
    pub prefer_kernels: Vec<String>,
    /// Minimum number of slices for a volume (default 2).
    pub min_slices: usize,
    /// Relative tolerance within which slice spacings count as equal (default 0.05).
    pub spacing_tolerance: f64,
    /// What to do with a tie (default: error).
    pub tie_break: TieBreak,
}

impl Default for SelectionPolicy {
    fn default() -> Self {
        Self {
            modality: Some("CT".into()),
            prefer_kernels: Vec::new(),
            min_slices: 2,
            spacing_tolerance: 0.05,
            tie_break: TieBreak::Error,
        }
    }
}

impl SelectionPolicy {
    /// The defaults (CT, at least 2 slices, ties are errors).
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts series of any modality.
    pub fn any_modality(mut self) -> Self {
        self.modality = None;
        self
    }

    /// Sets the required modality.
    pub fn with_modality(mut self, modality: impl Into<String>) -> Self {
        self.modality = Some(modality.into());
        self
    }

    /// Sets the preferred kernels (most preferred first).
    pub fn with_prefer_kernels(mut self, kernels: Vec<String>) -> Self {
        self.prefer_kernels = kernels;
        self
    }

    /// Sets the tie-break rule.
    pub fn with_tie_break(mut self, tie: TieBreak) -> Self {
        self.tie_break = tie;
        self
    }
}

/// A series that was not chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    /// Series id.
    pub id: String,
    /// The rule that eliminated it.
    pub why_not: String,
}

/// The chosen series, the rule that decided, and every alternative with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesChoice {
    /// Index into the summaries given to [`choose_series`].
    pub index: usize,
    /// Series id.
    pub id: String,
    /// Why it was chosen (the deciding rules, in order).
    pub reason: String,
    /// The other series and why each lost.
    pub alternatives: Vec<Alternative>,
}

fn is_localizer(s: &SeriesSummary) -> bool {
    s.image_type.iter().any(|t| t == "LOCALIZER")
}

fn is_original_primary(s: &SeriesSummary) -> bool {
    s.image_type.first().is_some_and(|t| t == "ORIGINAL")
        && s.image_type.get(1).is_none_or(|t| t == "PRIMARY")
}

fn kernel_rank(s: &SeriesSummary, preferred: &[String]) -> usize {
    let kernel = s.kernel.as_deref().unwrap_or("").to_ascii_lowercase();
    preferred
        .iter()
        .position(|p| !p.is_empty() && kernel.contains(&p.to_ascii_lowercase()))
        .unwrap_or(preferred.len())
}

/// Chooses the series to build a volume from. Rules, applied in order, each keeping
/// only the best candidates:
///
/// 1. modality (CT by default) and at least `min_slices` slices — hard requirements;
/// 2. not a localizer;
/// 3. ORIGINAL/PRIMARY over DERIVED or SECONDARY images;
/// 4. axial over other planes;
/// 5. finest slice spacing (within `spacing_tolerance`);
/// 6. most slices;
/// 7. preferred kernel, when the policy names any.
///
/// A tie after every rule is an error unless `tie_break` resolves it.
///
/// # Errors
/// [`Error::NoSeries`] when nothing meets the hard requirements;
/// [`Error::AmbiguousSeries`] for an unresolved tie.
pub fn choose_series(
    context: &str,
    series: &[SeriesSummary],
    policy: &SelectionPolicy,
) -> Result<SeriesChoice> {
    let mut sel = Selection::new(series, policy);
    if sel.alive.is_empty() {
        return Err(Error::NoSeries {
            context: context.to_owned(),
            reason: sel.why_none(),
        });
    }
    sel.apply_preferences(policy);
    if sel.alive.len() > 1 {
        sel.break_tie(context, policy.tie_break)?;
    }
    let index = sel.alive[0];
    let mut alternatives = sel.alternatives;
    alternatives.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(SeriesChoice {
        index,
        id: series[index].id.clone(),
        reason: if sel.reasons.is_empty() {
            "only candidate".to_owned()
        } else {
            sel.reasons.join("; ")
        },
        alternatives,
    })
}

/// The candidates still in the running, the losers with why, and the rules applied.
struct Selection<'a> {
    series: &'a [SeriesSummary],
    alive: Vec<usize>,
    alternatives: Vec<Alternative>,
    reasons: Vec<String>,
}

impl<'a> Selection<'a> {
    /// The series that meet the hard requirements (modality, enough slices).
    fn new(series: &'a [SeriesSummary], policy: &SelectionPolicy) -> Self {
        let mut sel = Self {
            series,
            alive: Vec::new(),
            alternatives: Vec::new(),
            reasons: Vec::new(),
        };
        for (i, s) in series.iter().enumerate() {
            let modality_ok = policy.modality.as_ref().is_none_or(|m| {
                s.modality
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(m))
            });
            let why_not = if !modality_ok {
                format!(
                    "modality {} is not {}",
                    s.modality.as_deref().unwrap_or("unknown"),
                    policy.modality.as_deref().unwrap_or("")
                )
            } else if s.n_slices < policy.min_slices {
                format!("{} slice(s), fewer than {}", s.n_slices, policy.min_slices)
            } else {
                sel.alive.push(i);
                continue;
            };
            sel.alternatives.push(Alternative {
                id: s.id.clone(),
                why_not,
            });
        }
        sel
    }

    /// Why no series qualifies.
    fn why_none(&self) -> String {
        if self.alternatives.is_empty() {
            return "no image series".to_owned();
        }
        self.alternatives
            .iter()
            .map(|a| format!("{}: {}", a.id, a.why_not))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the candidates for which `good` holds, if any does (and not all do),
    /// recording `rule` and each loser's `why_not`.
    fn prefer(
        &mut self,
        good: &dyn Fn(&SeriesSummary) -> bool,
        rule: &str,
        why_not: &dyn Fn(&SeriesSummary) -> String,
    ) {
        let series = self.series;
        let (keep, drop): (Vec<usize>, Vec<usize>) =
            self.alive.iter().partition(|&&i| good(&series[i]));
        if keep.is_empty() || drop.is_empty() {
            return;
        }
        for i in drop {
            self.alternatives.push(Alternative {
                id: series[i].id.clone(),
                why_not: why_not(&series[i]),
            });
        }
        self.reasons.push(rule.to_owned());
        self.alive = keep;
    }

    /// Rules 2-7 of [`choose_series`], in order.
    fn apply_preferences(&mut self, policy: &SelectionPolicy) {
        let series = self.series;
        self.prefer(&|s| !is_localizer(s), "not a localizer", &|_| {
            "localizer".into()
        });
        self.prefer(&is_original_primary, "ORIGINAL/PRIMARY", &|s| {
            format!("image type {}", s.image_type.join("\\"))
        });
        self.prefer(
            &|s| s.orientation.is_some_and(|o| o.plane == Plane::Axial),
            "axial",
            &|s| {
                format!(
                    "orientation {}",
                    s.orientation
                        .map_or_else(|| "unknown".into(), |o| o.label())
                )
            },
        );
        let finest = self
            .alive
            .iter()
            .filter_map(|&i| series[i].slice_spacing)
            .fold(f64::INFINITY, f64::min);
        if finest.is_finite() {
            let tol = policy.spacing_tolerance;
            self.prefer(
                &|s| s.slice_spacing.is_some_and(|d| d <= finest * (1.0 + tol)),
                &format!("finest slice spacing ({finest:.3} mm)"),
                &|s| match s.slice_spacing {
                    Some(d) => format!("coarser slice spacing {d:.3} mm than {finest:.3} mm"),
                    None => "slice spacing unknown".into(),
                },
            );
        }
        let most = self
            .alive
            .iter()
            .map(|&i| series[i].n_slices)
            .max()
            .unwrap_or(0);
        self.prefer(
            &|s| s.n_slices == most,
            &format!("most slices ({most})"),
            &|s| format!("{} slices, fewer than {most}", s.n_slices),
        );
        if !policy.prefer_kernels.is_empty() {
            let best = self
                .alive
                .iter()
                .map(|&i| kernel_rank(&series[i], &policy.prefer_kernels))
                .min()
                .unwrap_or(0);
            self.prefer(
                &|s| kernel_rank(s, &policy.prefer_kernels) == best,
                "preferred kernel",
                &|s| {
                    format!(
                        "kernel {} less preferred",
                        s.kernel.as_deref().unwrap_or("unknown")
                    )
                },
            );
        }
    }

    /// Resolves a tie after every rule by Series Number, or refuses it.
    fn break_tie(&mut self, context: &str, tie_break: TieBreak) -> Result<()> {
        let series = self.series;
        let highest = match tie_break {
            TieBreak::Error => {
                return Err(Error::AmbiguousSeries {
                    context: context.to_owned(),
                    candidates: self.alive.iter().map(|&i| series[i].id.clone()).collect(),
                    reason: format!(
                        "equal after rules: {}",
                        if self.reasons.is_empty() {
                            "none applied".into()
                        } else {
                            self.reasons.join(", ")
                        }
                    ),
                });
            }
            TieBreak::LowestSeriesNumber => false,
            TieBreak::HighestSeriesNumber => true,
        };
        let mut v = self.alive.clone();
        v.sort_by(|&a, &b| {
            let (na, nb) = (
                series[a].series_number.unwrap_or(i64::MAX),
                series[b].series_number.unwrap_or(i64::MAX),
            );
            let by_num = if highest { nb.cmp(&na) } else { na.cmp(&nb) };
            by_num.then_with(|| series[a].id.cmp(&series[b].id))
        });
        let rule = if highest {
            "tie broken by highest Series Number"
        } else {
            "tie broken by lowest Series Number"
        };
        for &i in &v[1..] {
            self.alternatives.push(Alternative {
                id: series[i].id.clone(),
                why_not: rule.to_owned(),
            });
        }
        self.reasons.push(rule.to_owned());
        self.alive = vec![v[0]];
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Orientation;

    fn summary(
        id: &str,
        image_type: &[&str],
        plane: Plane,
        spacing: f64,
        n: usize,
        kernel: &str,
    ) -> SeriesSummary {
        SeriesSummary {
            id: id.into(),
            series_uid: id.into(),
            series_number: Some(id.len() as i64),
            description: None,
            modality: Some("CT".into()),
            image_type: image_type.iter().map(|s| (*s).to_owned()).collect(),
            n_slices: n,
            n_files: n,
            rows: 512,
            cols: 512,
            pixel_spacing: Some([0.4, 0.4]),
            slice_spacing: Some(spacing),
            slice_thickness: Some(spacing),
            orientation: Some(Orientation {
                plane,
                obliquity_deg: 0.0,
            }),
            kernel: Some(kernel.into()),
            manufacturer: None,
            model: None,
            body_part: None,
            transfer_syntaxes: vec![],
            files: vec![],
            split: None,
        }
    }

    #[test]
    fn thin_bone_series_beats_soft_tissue_and_localizer() {
        let series = vec![
            summary(
                "scout",
                &["ORIGINAL", "PRIMARY", "LOCALIZER"],
                Plane::Coronal,
                1.0,
                3,
                "B30",
            ),
            summary(
                "soft",
                &["ORIGINAL", "PRIMARY", "AXIAL"],
                Plane::Axial,
                2.0,
                60,
                "B30f",
            ),
            summary(
                "bone",
                &["ORIGINAL", "PRIMARY", "AXIAL"],
                Plane::Axial,
                0.6,
                170,
                "U75u",
            ),
        ];
        let c = choose_series("exam 1", &series, &SelectionPolicy::new()).unwrap();
        assert_eq!(c.id, "bone");
        assert!(c.reason.contains("finest slice spacing"), "{}", c.reason);
        let why: Vec<_> = c
            .alternatives
            .iter()
            .map(|a| (a.id.as_str(), a.why_not.as_str()))
            .collect();
        assert_eq!(why[0], ("scout", "localizer"));
        assert!(
            why[1].1.starts_with("coarser slice spacing 2.000 mm"),
            "{why:?}"
        );
    }

    #[test]
    fn ties_are_errors_unless_broken_and_kernels_can_decide() {
        let series = vec![
            summary(
                "a",
                &["ORIGINAL", "PRIMARY", "AXIAL"],
                Plane::Axial,
                0.6,
                100,
                "B30f",
            ),
            summary(
                "bb",
                &["ORIGINAL", "PRIMARY", "AXIAL"],
                Plane::Axial,
                0.6,
                100,
                "U75u",
            ),
        ];
        let err = choose_series("exam 2", &series, &SelectionPolicy::new()).unwrap_err();
        assert!(
            matches!(&err, Error::AmbiguousSeries { candidates, .. } if candidates == &["a", "bb"]),
            "{err}"
        );
        let c = choose_series(
            "exam 2",
            &series,
            &SelectionPolicy::new().with_prefer_kernels(vec!["u75".into()]),
        )
        .unwrap();
        assert_eq!(c.id, "bb");
        let c = choose_series(
            "exam 2",
            &series,
            &SelectionPolicy::new().with_tie_break(TieBreak::HighestSeriesNumber),
        )
        .unwrap();
        assert_eq!(c.id, "bb");
        let mr = SelectionPolicy::new().with_modality("MR");
        assert!(matches!(
            choose_series("exam 2", &series, &mr),
            Err(Error::NoSeries { .. })
        ));
    }
}
