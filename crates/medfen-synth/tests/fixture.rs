//! The committed fixture `fixtures/synth-ear` is exactly what this version of synth
//! makes from the options in its `synth.json`: regenerate it with
//! `cargo xtask fixtures` after changing the phantom.

mod common;

use std::path::PathBuf;

use common::snapshot;
use medfen_synth::{STAMP, SynthConfig, generate};

#[test]
fn the_committed_fixture_matches_what_synth_makes_today() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/synth-ear");
    let stamp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture.join(STAMP)).unwrap()).unwrap();
    assert_eq!(stamp["complete"], true);
    let dir = tempfile::tempdir().unwrap();
    let mut config = stamp["config"].clone();
    config["out"] = serde_json::Value::String(dir.path().display().to_string());
    let config: SynthConfig = serde_json::from_value(config).unwrap();
    generate(&config).unwrap();
    let (want, got) = (snapshot(&fixture), snapshot(dir.path()));
    let stale: Vec<_> = want
        .keys()
        .chain(got.keys())
        .filter(|k| want.get(*k) != got.get(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "fixtures/synth-ear is stale ({} files differ, e.g. {}): run `cargo xtask fixtures`",
        stale.len(),
        stale[0].display()
    );
    assert!(want.len() > 100);
}
