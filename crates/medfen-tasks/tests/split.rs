//! Splits: byte-identical for the same seed whatever the row order, no patient in two
//! splits, strictly nested subsets with class minimums (rare code 4 too), filters
//! before stratification, and an audit that fails on planted leakage.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use medfen_io::Table;
use medfen_synth::{CodeFrequencies, SynthConfig};
use medfen_tasks::{KeepMode, SplitName, SplitOptions, audit, make_split, read_manifest};

fn dataset(dir: &std::path::Path) -> common::Pipeline {
    // Many patients with several exams, and a rare code 4 (about 2% of ears).
    let config = SynthConfig::new(dir)
        .with_exams(120)
        .with_seed(17)
        .with_matrix(64)
        .with_repeat_patients(0.5)
        .with_code_frequencies(CodeFrequencies([0.34, 0.15, 0.13, 0.02, 0.27, 0.09]));
    common::run(dir, config)
}

#[test]
fn splits_are_leak_free_nested_reproducible_and_keep_rare_classes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dataset(dir.path());
    let ears = read_manifest(&p.manifest).unwrap();
    let patients: BTreeMap<&str, BTreeSet<u64>> = ears.iter().fold(BTreeMap::new(), |mut m, e| {
        m.entry(e.patient_key.as_str())
            .or_default()
            .insert(e.exam_id);
        m
    });
    let multi = patients.values().filter(|s| s.len() > 1).count();
    assert!(multi >= 20, "only {multi} patients with several exams");
    let code4 = ears.iter().filter(|e| e.code == Some(4)).count();
    assert!((2..=10).contains(&code4), "{code4} code-4 ears");

    let options = SplitOptions::default();
    let plan = make_split(&ears, &options).unwrap();
    // One split per patient.
    for exams in patients.values() {
        let splits: BTreeSet<SplitName> = exams
            .iter()
            .filter_map(|e| plan.assignment.get(e))
            .copied()
            .collect();
        assert!(splits.len() <= 1, "a patient in {splits:?}");
    }
    // Fractions of patients close to the request.
    let n_patients = |s: SplitName| {
        patients
            .values()
            .filter(|ex| ex.iter().any(|e| plan.assignment.get(e) == Some(&s)))
            .count()
    };
    let total = patients.len() as f64;
    assert!(((n_patients(SplitName::Test) as f64 / total) - 0.2).abs() < 0.05);
    assert!(((n_patients(SplitName::Val) as f64 / total) - 0.1).abs() < 0.05);
    // Nested subsets, each meeting its class targets and the minimum per class.
    assert_eq!(plan.subsets.len(), 3);
    for w in plan.subsets.windows(2) {
        let small: BTreeSet<u64> = w[0].exams.iter().copied().collect();
        let big: BTreeSet<u64> = w[1].exams.iter().copied().collect();
        assert!(
            small.is_subset(&big),
            "{} not inside {}",
            w[0].folder,
            w[1].folder
        );
        assert!(small.len() < big.len());
    }
    let full = &plan.subsets[2];
    for s in &plan.subsets {
        for c in 0..6 {
            assert!(
                s.counts.ears_by_code[c] >= s.targets[c],
                "{} code {}",
                s.folder,
                c + 1
            );
            if full.counts.ears_by_code[c] > 0 {
                assert!(
                    s.counts.ears_by_code[c] >= 1,
                    "{}: no ear of code {}",
                    s.folder,
                    c + 1
                );
            }
        }
    }
    assert!(
        full.counts.ears_by_code[3] >= 1,
        "code 4 missing from training"
    );
    assert_eq!(plan.subsets[0].folder, "1pct");

    // Written files: the audit passes, and a second run (rows reversed) gives the same bytes.
    let a = dir.path().join("splits/a");
    let report = plan.write(&a, &p.manifest).unwrap();
    assert!(report.audit.ok, "{:?}", report.audit.problems);
    let mut reversed = ears.clone();
    reversed.reverse();
    let b = dir.path().join("splits/b");
    make_split(&reversed, &options)
        .unwrap()
        .write(&b, &p.manifest)
        .unwrap();
    let (sa, sb) = (common::snapshot(&a), common::snapshot(&b));
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (k, v) in &sa {
        assert!(v == &sb[k], "{} differs", k.display());
    }
    assert!(sa.contains_key(std::path::Path::new("20pct/val.csv")));
    assert_eq!(
        sa[std::path::Path::new("1pct/test.parquet")],
        sa[std::path::Path::new("100pct/test.parquet")]
    );
    // Another seed, another split.
    let c = make_split(&ears, &SplitOptions { seed: 7, ..options }).unwrap();
    assert_ne!(c.assignment, plan.assignment);
}

#[test]
fn code_filters_apply_before_stratification() {
    let dir = tempfile::tempdir().unwrap();
    let p = dataset(dir.path());
    let ears = read_manifest(&p.manifest).unwrap();
    let mask = make_split(
        &ears,
        &SplitOptions {
            keep_codes: Some(vec![2, 5]),
            ..SplitOptions::default()
        },
    )
    .unwrap();
    for e in &mask.ears {
        assert!(e.code.is_none_or(|c| c == 2 || c == 5));
        if e.code.is_none() {
            assert!(e.code_original.is_none_or(|c| c != 2 && c != 5));
        }
    }
    // The strata themselves are made of the kept codes: every profile is a set of 2 and
    // 5 (or empty), every rarest-code stratum one of them, and they hold every patient.
    let unfiltered = make_split(&ears, &SplitOptions::default()).unwrap();
    assert!(
        unfiltered
            .strata_by_key
            .keys()
            .any(|k| k.contains('1') || k.contains('3')),
        "the unfiltered strata should mention other codes: {:?}",
        unfiltered.strata_by_key
    );
    for key in mask.strata_by_key.keys() {
        let codes = key
            .strip_prefix("profile:")
            .or_else(|| key.strip_prefix("rarest:code"))
            .unwrap_or("");
        assert!(
            key == "pooled"
                || key == "rarest:none"
                || codes
                    .split('+')
                    .all(|c| c.is_empty() || c == "2" || c == "5"),
            "stratum {key} mentions a filtered-out code: {:?}",
            mask.strata_by_key
        );
    }
    let patients: BTreeSet<&str> = mask.ears.iter().map(|e| e.patient_key.as_str()).collect();
    assert_eq!(mask.strata_by_key.values().sum::<usize>(), patients.len());
    // the filtered codes decide the strata: no stratum mentions a dropped code
    let drop = make_split(
        &ears,
        &SplitOptions {
            keep_codes: Some(vec![2, 5]),
            keep_mode: KeepMode::DropExam,
            ..SplitOptions::default()
        },
    )
    .unwrap();
    assert!(drop.ears.len() < mask.ears.len());
    for e in &drop.ears {
        assert!(e.code_original.is_none_or(|c| c == 2 || c == 5));
    }
    assert!(
        drop.excluded_exams
            .iter()
            .any(|(_, why)| why.contains("drop-exam"))
    );
}

#[test]
fn the_audit_fails_on_planted_leakage_broken_nesting_and_a_stale_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let p = dataset(dir.path());
    let ears = read_manifest(&p.manifest).unwrap();
    let out = dir.path().join("splits/main");
    make_split(&ears, &SplitOptions::default())
        .unwrap()
        .write(&out, &p.manifest)
        .unwrap();
    assert!(audit(&out, &p.manifest).unwrap().ok);

    // Plant an overlap: the first training ear's row is copied into 20pct/val.
    let train_path = out.join("20pct/train.parquet");
    let val_path = out.join("20pct/val.parquet");
    let train = Table::read(&train_path).unwrap();
    let val = Table::read(&val_path).unwrap();
    let mut leaked = Table::new();
    for name in val.names() {
        use medfen_io::Column as Values;
        let v = match (val.column(name).unwrap(), train.column(name).unwrap()) {
            (Values::Int(a), Values::Int(b)) => {
                Values::Int(a.iter().chain(&b[..1]).copied().collect())
            }
            (Values::Text(a), Values::Text(b)) => {
                Values::Text(a.iter().chain(&b[..1]).cloned().collect())
            }
            (Values::Float(a), Values::Float(b)) => {
                Values::Float(a.iter().chain(&b[..1]).copied().collect())
            }
            (Values::Bool(a), Values::Bool(b)) => {
                Values::Bool(a.iter().chain(&b[..1]).copied().collect())
            }
            _ => unreachable!(),
        };
        leaked.push(name, v);
    }
    let original = std::fs::read(&val_path).unwrap();
    leaked.write_parquet(&val_path).unwrap();
    let r = audit(&out, &p.manifest).unwrap();
    assert!(!r.ok);
    assert_eq!(r.overlaps.len(), 1, "{:?}", r.problems);
    assert!(r.overlaps[0].files.contains(&"20pct/train".to_string()));
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("20pct/val and 100pct/val differ")
                || p.contains("1pct/val and 20pct/val differ"))
    );
    std::fs::write(&val_path, original).unwrap();
    assert!(audit(&out, &p.manifest).unwrap().ok);

    // Break nesting: drop an ear of 1pct from 20pct/train.
    let small = Table::read(&out.join("1pct/train.parquet")).unwrap();
    let first = small.ints("exam_id").unwrap()[0];
    let ids = train.ints("exam_id").unwrap();
    let keep: Vec<usize> = (0..train.rows()).filter(|&i| ids[i] != first).collect();
    let mut cut = Table::new();
    for name in train.names() {
        use medfen_io::Column as Values;
        let v = match train.column(name).unwrap() {
            Values::Int(a) => Values::Int(keep.iter().map(|&i| a[i]).collect()),
            Values::Text(a) => Values::Text(keep.iter().map(|&i| a[i].clone()).collect()),
            Values::Float(a) => Values::Float(keep.iter().map(|&i| a[i]).collect()),
            Values::Bool(a) => Values::Bool(keep.iter().map(|&i| a[i]).collect()),
        };
        cut.push(name, v);
    }
    let original = std::fs::read(&train_path).unwrap();
    cut.write_parquet(&train_path).unwrap();
    let r = audit(&out, &p.manifest).unwrap();
    assert!(
        !r.ok
            && r.problems
                .iter()
                .any(|p| p.contains("1pct/train is not nested in 20pct/train")),
        "{:?}",
        r.problems
    );
    std::fs::write(&train_path, original).unwrap();

    // A manifest that changed since the split: stale.
    let mut bytes = std::fs::read(&p.manifest).unwrap();
    let other = dir.path().join("other.parquet");
    std::fs::copy(
        p.manifest.with_extension("json"),
        other.with_extension("json"),
    )
    .unwrap();
    bytes.extend_from_slice(b"");
    std::fs::write(&other, &bytes).unwrap();
    assert!(audit(&out, &other).unwrap().ok, "same bytes, same hash");
    let t = Table::read(&p.manifest).unwrap();
    let mut changed = Table::new();
    for name in t.names() {
        changed.push(name, t.column(name).unwrap().clone());
    }
    changed.text("note", (0..t.rows()).map(|_| Some("x".to_string())));
    changed.write_parquet(&other).unwrap();
    let r = audit(&out, &other).unwrap();
    assert!(
        !r.ok && r.problems.iter().any(|p| p.contains("another manifest")),
        "{:?}",
        r.problems
    );
}

#[test]
fn the_same_data_and_seed_give_the_same_split_under_any_secret() {
    let dir = tempfile::tempdir().unwrap();
    let p = dataset(dir.path());
    let exams = p.work.join("exams.parquet");
    let split_under = |secret: &[u8]| {
        let (ears, _, _) = medfen_tasks::build_manifest(
            &exams,
            None,
            &medfen_tasks::PatientKeySecret::from_bytes(secret),
            &medfen_tasks::TaskRegistry::builtin(),
            &|_| {},
        )
        .unwrap();
        make_split(&ears, &SplitOptions::default()).unwrap()
    };
    let a = split_under(b"the secret of one machine, 32 B!");
    let b = split_under(b"another machine's secret, 32 B!!");
    // The keys differ (no key of one run appears in the other) ...
    let keys_a: BTreeSet<&str> = a.ears.iter().map(|e| e.patient_key.as_str()).collect();
    assert!(
        b.ears
            .iter()
            .all(|e| !keys_a.contains(e.patient_key.as_str()))
    );
    // ... the membership does not: every exam lands in the same split and subsets.
    assert_eq!(a.assignment, b.assignment);
    let subset_exams = |p: &medfen_tasks::SplitPlan| -> Vec<Vec<u64>> {
        p.subsets.iter().map(|s| s.exams.clone()).collect()
    };
    assert_eq!(subset_exams(&a), subset_exams(&b));
    assert_eq!(a.strata, b.strata);
}
