//! Same options, same bytes: whatever the thread count, and after an interrupted run
//! is resumed. A folder holding another dataset is refused.

mod common;

use common::snapshot;
use medfen_synth::{
    Difficulty, Error, OutputFormat, SyntaxChoice, SynthConfig, SynthPlan, generate,
};

fn config(dir: &std::path::Path) -> SynthConfig {
    SynthConfig::new(dir)
        .with_exams(6)
        .with_seed(99)
        .with_matrix(64)
        .with_difficulty(Difficulty::Hard)
        .with_syntax(SyntaxChoice::Mixed)
        .with_corrupt_rate(0.5)
}

#[test]
fn the_same_options_give_byte_identical_files_on_one_thread_or_many() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let report_a = generate(&config(a.path())).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let report_b = pool.install(|| generate(&config(b.path()))).unwrap();
    assert_eq!(report_a.defects, report_b.defects);
    let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
    assert!(sa.len() > 50, "{} files", sa.len());
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (path, bytes) in &sa {
        assert!(
            bytes == &sb[path],
            "{} differs between runs",
            path.display()
        );
    }
    // A different seed gives a different dataset.
    let c = tempfile::tempdir().unwrap();
    generate(&config(c.path()).with_seed(100)).unwrap();
    assert_ne!(
        snapshot(c.path()).get(std::path::Path::new("truth.csv")),
        sa.get(std::path::Path::new("truth.csv"))
    );
}

#[test]
fn an_interrupted_run_resumes_to_the_same_bytes_and_other_options_are_refused() {
    let reference = tempfile::tempdir().unwrap();
    generate(&config(reference.path())).unwrap();
    let want = snapshot(reference.path());

    let dir = tempfile::tempdir().unwrap();
    let first = generate(&config(dir.path())).unwrap();
    assert_eq!(first.files_reused, 0);
    // Simulate an interruption: some slices and every table are gone, and the stamp
    // says the run did not finish.
    let mut removed = 0;
    for (k, rel) in want.keys().enumerate() {
        let name = rel.to_string_lossy();
        if (name.ends_with(".dcm") && k % 7 == 0)
            || (!name.starts_with("dicom") && name != medfen_synth::STAMP)
        {
            std::fs::remove_file(dir.path().join(rel)).unwrap();
            removed += 1;
        }
    }
    assert!(removed > 10);
    let stamp = dir.path().join(medfen_synth::STAMP);
    let text = std::fs::read_to_string(&stamp).unwrap();
    assert!(text.contains("\"complete\": true"));
    std::fs::write(
        &stamp,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let again = generate(&config(dir.path())).unwrap();
    assert!(again.files_reused > 0, "nothing reused");
    assert!(again.files_reused < first.files, "everything reused");
    let got = snapshot(dir.path());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &want {
        assert!(
            bytes == &got[path],
            "{} differs after resuming",
            path.display()
        );
    }

    // Other options into the same folder: refused, nothing touched.
    let err = SynthPlan::new(&config(dir.path()).with_seed(1))
        .unwrap()
        .generate(&|_| {})
        .unwrap_err();
    assert!(matches!(err, Error::OutputInUse { .. }), "{err}");
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    let err = generate(&config(dir.path()).with_format(OutputFormat::Nifti)).unwrap_err();
    assert!(matches!(err, Error::OutputInUse { .. }), "{err}");
    assert_eq!(snapshot(dir.path()), want);

    // A folder with unrelated files is refused too.
    let foreign = tempfile::tempdir().unwrap();
    std::fs::write(foreign.path().join("notes.txt"), "mine").unwrap();
    let err = generate(&config(foreign.path())).unwrap_err();
    assert!(matches!(err, Error::OutputInUse { .. }), "{err}");
}
