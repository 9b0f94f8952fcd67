//! Scores sorted once, grouped by distinct value, and tallied per group.
//!
//! Every binary metric here is a function of a [`Tally`]: for each distinct score, from
//! the highest down, the (weighted) number of positives and negatives with exactly that
//! score. With unit weights the tally gives the usual point estimate; with a bootstrap
//! replicate's cluster counts as weights it gives that replicate's value, in O(n)
//! without re-sorting. Grouping equal scores is what gives scikit-learn's tie semantics:
//! a threshold can only fall between distinct scores, never inside a tie.

use crate::error::{Error, Result, check_len};

/// Validated binary labels and scores, ranked by descending score.
///
/// Predictions are "positive" when `score >= threshold` everywhere in this crate.
#[derive(Debug, Clone)]
pub struct RankedScores {
    n_pos: usize,
    n_neg: usize,
    /// Sample indices ordered by descending score (ties by ascending index).
    order: Vec<u32>,
    /// Label of `order[k]` as 1.0 / 0.0 (so tallies need no unpredictable branch).
    sorted_labels: Vec<f64>,
    /// Exclusive end, in `order`, of each group of equal scores.
    group_end: Vec<u32>,
    /// The distinct scores, descending (one per group).
    distinct: Vec<f64>,
    /// Group of each sample, by original index.
    group_of: Vec<u32>,
}

/// Per-group weighted counts of positives and negatives, highest score first.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub(crate) pos: Vec<f64>,
    pub(crate) neg: Vec<f64>,
    pub(crate) total_pos: f64,
    pub(crate) total_neg: f64,
}

impl Tally {
    /// Weighted positives per group of equal scores.
    pub fn pos(&self) -> &[f64] {
        &self.pos
    }

    /// Weighted negatives per group of equal scores.
    pub fn neg(&self) -> &[f64] {
        &self.neg
    }

    /// Total weighted positives.
    pub fn total_pos(&self) -> f64 {
        self.total_pos
    }

    /// Total weighted negatives.
    pub fn total_neg(&self) -> f64 {
        self.total_neg
    }
}

impl RankedScores {
    /// Validates and ranks `labels` (true = positive) and `scores`.
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::LengthMismatch`] or [`Error::NonFiniteScore`] (naming
    /// the first NaN or infinite score). A single class is allowed here; metrics that
    /// need both classes report [`Error::SingleClass`].
    pub fn new(labels: &[bool], scores: &[f64]) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Empty);
        }
        check_len("scores", labels.len(), scores.len())?;
        if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            return Err(Error::NonFiniteScore { index, value });
        }
        let n = labels.len();
        let too_many = u32::try_from(n).is_err();
        if too_many {
            return Err(Error::InvalidParameter {
                name: "samples",
                value: n.to_string(),
                reason: "at most 2^32 - 1 samples are supported",
            });
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        // Descending score; equal scores keep index order, so the ranking is deterministic.
        order.sort_by(|&a, &b| {
            scores[b as usize]
                .total_cmp(&scores[a as usize])
                .then(a.cmp(&b))
        });
        let sorted_labels: Vec<f64> = order
            .iter()
            .map(|&i| f64::from(u8::from(labels[i as usize])))
            .collect();
        let mut group_end = Vec::new();
        let mut distinct = Vec::new();
        let mut group_of = vec![0u32; n];
        for (k, &i) in order.iter().enumerate() {
            let s = scores[i as usize];
            // -0.0 and 0.0 are one score, as in numpy.
            if distinct.last().is_none_or(|&last: &f64| last != s) {
                if k > 0 {
                    group_end.push(k as u32);
                }
                distinct.push(s);
            }
            group_of[i as usize] = (distinct.len() - 1) as u32;
        }
        group_end.push(n as u32);
        let n_pos = labels.iter().filter(|&&l| l).count();
        Ok(Self {
            n_pos,
            n_neg: n - n_pos,
            order,
            sorted_labels,
            group_end,
            distinct,
            group_of,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always false: construction rejects empty input.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Number of positive samples.
    pub fn n_pos(&self) -> usize {
        self.n_pos
    }

    /// Number of negative samples.
    pub fn n_neg(&self) -> usize {
        self.n_neg
    }

    /// The distinct scores, highest first.
    pub fn distinct_scores(&self) -> &[f64] {
        &self.distinct
    }

    /// Sample indices by descending score.
    pub(crate) fn order(&self) -> &[u32] {
        &self.order
    }

    /// Group index of the sample at original position `i`.
    pub(crate) fn group_of(&self, i: usize) -> usize {
        self.group_of[i] as usize
    }

    /// Tally with every sample weighted 1.
    pub fn tally(&self) -> Tally {
        self.tally_with(|_| 1.0)
    }

    /// Tally with sample `i` (original index) weighted `weight(i)`.
    pub fn tally_with(&self, weight: impl Fn(usize) -> f64) -> Tally {
        let mut tally = self.empty_tally();
        self.tally_sorted(|k| weight(self.order[k] as usize), &mut tally);
        tally
    }

    /// Tally with weights given per sorted position (used by the bootstrap, which
    /// precomputes each sorted sample's cluster).
    pub(crate) fn tally_sorted(&self, weight_at: impl Fn(usize) -> f64, into: &mut Tally) {
        let mut start = 0usize;
        let (mut all_pos, mut all) = (0.0, 0.0);
        for (group, &end) in self.group_end.iter().enumerate() {
            let end = end as usize;
            let (mut p, mut total) = (0.0, 0.0);
            for (k, &label) in self.sorted_labels[start..end].iter().enumerate() {
                let w = weight_at(start + k);
                p += w * label;
                total += w;
            }
            into.pos[group] = p;
            into.neg[group] = total - p;
            all_pos += p;
            all += total;
            start = end;
        }
        into.total_pos = all_pos;
        into.total_neg = all - all_pos;
    }

    /// Labels in sorted order, as 1.0 / 0.0.
    pub(crate) fn sorted_labels(&self) -> &[f64] {
        &self.sorted_labels
    }

    /// Group of each sorted position.
    pub(crate) fn sorted_groups(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.order.len());
        let mut start = 0u32;
        for (g, &end) in self.group_end.iter().enumerate() {
            out.extend(std::iter::repeat_n(g as u32, (end - start) as usize));
            start = end;
        }
        out
    }

    /// An empty tally of the right size, to be filled by [`Self::tally_sorted`].
    pub(crate) fn empty_tally(&self) -> Tally {
        let g = self.distinct.len();
        Tally {
            pos: vec![0.0; g],
            neg: vec![0.0; g],
            total_pos: 0.0,
            total_neg: 0.0,
        }
    }
}

/// Converts numeric labels (0/1, as read from a table) to booleans.
///
/// # Errors
/// [`Error::InvalidLabel`] naming the first value that is not exactly 0 or 1.
pub fn labels_from_f64(values: &[f64]) -> Result<Vec<bool>> {
    values
        .iter()
        .enumerate()
        .map(|(index, &v)| {
            if v == 1.0 {
                Ok(true)
            } else if v == 0.0 {
                Ok(false)
            } else {
                Err(Error::InvalidLabel {
                    index,
                    value: v.to_string(),
                })
            }
        })
        .collect()
}

/// Smallest f64 strictly greater than `x`: the threshold that calls nothing at or
/// below `x` positive.
pub(crate) fn just_above(x: f64) -> f64 {
    x.next_up()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_ties_and_orders_descending() {
        let r = RankedScores::new(&[true, false, true, false], &[0.5, 0.9, 0.5, -0.0]).unwrap();
        assert_eq!(r.distinct_scores(), &[0.9, 0.5, 0.0]);
        let t = r.tally();
        assert_eq!(t.pos, vec![0.0, 2.0, 0.0]);
        assert_eq!(t.neg, vec![1.0, 0.0, 1.0]);
        assert_eq!((r.n_pos(), r.n_neg()), (2, 2));
        assert_eq!(r.group_of(0), 1);
        let w = r.tally_with(|i| i as f64);
        assert_eq!(w.pos, vec![0.0, 2.0, 0.0]);
        assert_eq!(w.neg, vec![1.0, 0.0, 3.0]);
    }

    #[test]
    fn rejects_bad_input_naming_the_position() {
        assert_eq!(RankedScores::new(&[], &[]).unwrap_err(), Error::Empty);
        assert!(matches!(
            RankedScores::new(&[true, false], &[0.1]),
            Err(Error::LengthMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
        let err = RankedScores::new(&[true, false, true], &[0.1, f64::NAN, 0.2]).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteScore { index: 1, .. }),
            "{err}"
        );
        let err = labels_from_f64(&[0.0, 1.0, 2.0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label at index 2 is 2: binary labels must be 0 or 1"
        );
    }
}
