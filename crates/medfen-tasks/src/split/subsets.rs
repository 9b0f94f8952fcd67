//! Step 4 of a split: nested, class-stratified training subsets, smallest first, each
//! starting from the previous one, so 1% ⊂ 20% ⊂ 100% holds by construction.

use std::collections::{BTreeMap, BTreeSet};

use super::{SplitEar, SplitName, SplitOptions, Subset, counts, keyed};
use crate::codes::{NUM_CODES, code_index};

/// The subset folder of `ratio`: `1pct`, `20pct`, `100pct`, `2.5pct`.
pub(super) fn folder_name(ratio: f64) -> String {
    let pct = ratio * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{}pct", pct.round())
    } else {
        format!("{}pct", (pct * 10.0).round() / 10.0)
    }
}

/// The training exams grown subset by subset.
struct Growth<'a> {
    exam_codes: &'a BTreeMap<u64, Vec<u8>>,
    selected: Vec<u64>,
    chosen: BTreeSet<u64>,
    have: [usize; NUM_CODES],
}

impl Growth<'_> {
    fn take(&mut self, id: u64) {
        if self.chosen.insert(id) {
            self.selected.push(id);
            for c in self.exam_codes.get(&id).into_iter().flatten() {
                self.have[code_index(*c)] += 1;
            }
        }
    }

    /// Takes exams in `priority` order, rarest class first, one exam per class and
    /// round, until every class reaches its target or no exam is left.
    fn fill(&mut self, priority: &[u64], class_order: &[usize], targets: &[usize; NUM_CODES]) {
        let mut cursor = [0usize; NUM_CODES];
        loop {
            let mut progress = false;
            for &c in class_order {
                if self.have[c] >= targets[c] {
                    continue;
                }
                let code = u8::try_from(c + 1).unwrap_or_default();
                while cursor[c] < priority.len() {
                    let id = priority[cursor[c]];
                    cursor[c] += 1;
                    if !self.chosen.contains(&id)
                        && self.exam_codes.get(&id).is_some_and(|v| v.contains(&code))
                    {
                        self.take(id);
                        progress = true;
                        break;
                    }
                }
            }
            if !progress || (0..NUM_CODES).all(|c| self.have[c] >= targets[c]) {
                break;
            }
        }
    }
}

/// The training subsets of the ratios, smallest first, and warnings for classes that
/// have labelled ears but none in training.
pub(super) fn nested(
    kept: &[SplitEar],
    assignment: &BTreeMap<u64, SplitName>,
    global: &[usize; NUM_CODES],
    options: &SplitOptions,
) -> (Vec<Subset>, Vec<String>) {
    let train_exams: Vec<u64> = assignment
        .iter()
        .filter(|(_, s)| **s == SplitName::Train)
        .map(|(id, _)| *id)
        .collect();
    let mut exam_codes: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for e in kept {
        if let Some(c) = e.code {
            exam_codes.entry(e.exam_id).or_default().push(c);
        }
    }
    let mut n_train = [0usize; NUM_CODES];
    for id in &train_exams {
        for c in exam_codes.get(id).into_iter().flatten() {
            n_train[code_index(*c)] += 1;
        }
    }
    let warnings = (0..NUM_CODES)
        .filter(|&c| global[c] > 0 && n_train[c] == 0)
        .map(|c| {
            format!(
                "code {} has {} labelled ear(s) but none in training",
                c + 1,
                global[c]
            )
        })
        .collect();
    let mut priority = train_exams;
    priority.sort_by_key(|id| (keyed(options.seed, "subset", &id.to_string()), *id));
    let mut class_order: Vec<usize> = (0..NUM_CODES).collect();
    class_order.sort_by_key(|c| (n_train[*c], *c)); // rarest first
    let mut ratios = options.ratios.clone();
    ratios.sort_by(f64::total_cmp);
    ratios.dedup();
    let mut growth = Growth {
        exam_codes: &exam_codes,
        selected: Vec::new(),
        chosen: BTreeSet::new(),
        have: [0; NUM_CODES],
    };
    let subsets = ratios
        .into_iter()
        .map(|ratio| {
            let targets = targets(ratio, &n_train, options.min_per_class);
            if ratio >= 1.0 {
                for id in &priority {
                    growth.take(*id);
                }
            } else {
                growth.fill(&priority, &class_order, &targets);
            }
            let sub_ears: Vec<&SplitEar> = kept
                .iter()
                .filter(|e| growth.chosen.contains(&e.exam_id))
                .collect();
            Subset {
                ratio,
                folder: folder_name(ratio),
                targets,
                exams: growth.selected.clone(),
                counts: counts(&sub_ears),
            }
        })
        .collect();
    (subsets, warnings)
}

/// Ears per code a subset of `ratio` aims for: all of them at 100%, else the ratio's
/// share (rounded) but at least `min_per_class` where the class has that many.
fn targets(ratio: f64, n_train: &[usize; NUM_CODES], min_per_class: usize) -> [usize; NUM_CODES] {
    std::array::from_fn(|c| {
        if ratio >= 1.0 {
            n_train[c]
        } else {
            n_train[c].min(min_per_class.max((n_train[c] as f64 * ratio).round() as usize))
        }
    })
}
