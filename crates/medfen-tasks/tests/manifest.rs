//! The ear manifest: two ears per exam with task columns and keyed patient hashes, and
//! no patient identifier in any output.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use medfen_io::Table;
use medfen_synth::SynthConfig;
use medfen_tasks::{PatientKeySecret, TaskRegistry, build_manifest, read_manifest};

/// Each ear's labelled code (None: a blank side) and synth patient, from truth.csv.
fn truth_by_ear(data: &Path) -> BTreeMap<(u64, String), (Option<u8>, String)> {
    let truth = std::fs::read_to_string(data.join("truth.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(truth.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let mut want: BTreeMap<(u64, String), (Option<u8>, String)> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let blank = &r[col("label_blank")] == "true";
        let code: u8 = r[col("code")].parse().unwrap();
        want.insert(
            (
                r[col("exam_id")].parse().unwrap(),
                r[col("side")].to_string(),
            ),
            ((!blank).then_some(code), r[col("patient")].to_string()),
        );
    }
    want
}

/// No PatientID, PatientName or UID in any manifest file.
fn assert_no_identifiers(p: &common::Pipeline) {
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for entry in walk(&p.data.join("dicom")) {
        if let Ok(h) = medfen_dicom::read_header(&entry) {
            secrets.extend(h.patient.id.clone());
            secrets.extend(h.patient.name.clone());
            secrets.insert(h.study_uid.clone());
            secrets.insert(h.series_uid.clone());
        }
    }
    assert!(secrets.len() > 20);
    for file in ["ears.parquet", "ears.csv", "ears.json"] {
        let bytes = std::fs::read(p.work.join(file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{file} contains an identifier");
        }
    }
}

#[test]
fn ears_tasks_and_keys_without_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(30)
        .with_seed(4)
        .with_matrix(64)
        .with_repeat_patients(0.4);
    let p = common::run(dir.path(), config);
    let ears = read_manifest(&p.manifest).unwrap();
    let t = Table::read(&p.manifest).unwrap();
    assert_eq!(ears.len(), 60);
    // both sides of every exam, in order
    for pair in ears.chunks(2) {
        assert_eq!(pair[0].exam_id, pair[1].exam_id);
        assert_eq!(
            (pair[0].side.name(), pair[1].side.name()),
            ("left", "right")
        );
        assert_eq!(pair[0].patient_key, pair[1].patient_key);
    }
    // codes agree with synth's truth
    let want = truth_by_ear(&p.data);
    for e in &ears {
        let (code, _) = &want[&(e.exam_id, e.side.name().to_string())];
        assert_eq!(e.code, *code, "exam {} {}", e.exam_id, e.side.name());
    }
    // one key per synth patient, and the same key for a patient's two exams
    let mut key_of_patient: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &ears {
        let patient = &want[&(e.exam_id, e.side.name().to_string())].1;
        key_of_patient
            .entry(patient)
            .or_default()
            .insert(&e.patient_key);
    }
    assert!(key_of_patient.values().all(|k| k.len() == 1));
    let distinct: BTreeSet<&str> = ears.iter().map(|e| e.patient_key.as_str()).collect();
    assert_eq!(distinct.len(), key_of_patient.len());
    assert!(distinct.len() < 30, "no patient has two exams");
    // task columns
    let path = &p.manifest;
    let codes = t.ints("code").unwrap();
    let valid = t.bools("task_valid__normal_vs_diseased").unwrap();
    let y = t.floats("task_y__normal_vs_diseased").unwrap();
    for k in 0..codes.len() {
        let want = match codes[k] {
            Some(5) => Some(0.0),
            Some(1..=4) => Some(1.0),
            _ => None,
        };
        assert_eq!(y[k], want);
        assert_eq!(valid[k], Some(want.is_some()));
    }
    for task in TaskRegistry::builtin().binary() {
        assert!(t.column(&format!("task_y__{}", task.name)).is_some());
    }
    assert_no_identifiers(&p);
    // Another secret, other keys; the same secret, the same bytes.
    let exams = p.work.join("exams.parquet");
    let tasks = TaskRegistry::builtin();
    let other = build_manifest(
        &exams,
        None,
        &PatientKeySecret::from_bytes(b"another secret, 32 bytes long!!"),
        &tasks,
        &|_| {},
    )
    .unwrap()
    .0;
    assert!(
        other
            .iter()
            .zip(&ears)
            .all(|(a, b)| a.patient_key != b.patient_key)
    );
    let again = build_manifest(
        &exams,
        None,
        &PatientKeySecret::from_bytes(common::SECRET),
        &tasks,
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        again.1.parquet_bytes(path).unwrap(),
        std::fs::read(path).unwrap()
    );
}

#[test]
fn the_secret_file_is_created_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/secret");
    let a = PatientKeySecret::load_or_create(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let b = PatientKeySecret::load_or_create(&path).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(
        a.patient_key(Some("X"), None, "1").unwrap(),
        b.patient_key(Some("X"), None, "1").unwrap()
    );
    assert!(
        !format!("{a:?}").contains(&std::fs::read_to_string(&path).unwrap().trim().to_string())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = PatientKeySecret::load_or_create(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}

#[test]
fn unknown_tasks_list_the_known_ones_and_user_tasks_load() {
    let tasks = TaskRegistry::builtin();
    assert_eq!(tasks.names().len(), 10);
    let err = tasks
        .resolve("normal_vs_everything")
        .unwrap_err()
        .to_string();
    for name in tasks.names() {
        assert!(err.contains(name), "{err}");
    }
    assert_eq!(
        tasks.resolve(" 胆脂瘤vs其他异常 ").unwrap().name,
        "cholesteatoma_vs_other_abnormal"
    );
    assert_eq!(tasks.resolve("6class").unwrap().num_classes(), 6);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tasks.toml");
    std::fs::write(&file, "[[task]]\nname = \"ome_vs_normal_or_other\"\nnegative = [5, 6]\npositive = [3]\naliases = [\"积液vs正常\"]\n").unwrap();
    let with = TaskRegistry::with_file(&file).unwrap();
    let t = with.resolve("积液vs正常").unwrap();
    assert_eq!(
        (t.target(Some(6)), t.target(Some(3)), t.target(Some(1))),
        (Some(0), Some(1), None)
    );
    assert_eq!(
        t.class_names,
        vec!["正常/其他".to_string(), "分泌性中耳炎".to_string()]
    );
    for (text, why) in [
        (
            "[[task]]\nname = \"x\"\nnegative = [5]\npositive = [5]\n",
            "both negative and positive",
        ),
        (
            "[[task]]\nname = \"x\"\nnegative = [9]\npositive = [1]\n",
            "not 1..6",
        ),
        (
            "[[task]]\nname = \"normal_vs_ome\"\nnegative = [5]\npositive = [3]\n",
            "already taken",
        ),
        (
            "[[task]]\nname = \"x y\"\nnegative = [5]\npositive = [3]\n",
            "letters, digits",
        ),
        ("[[task]]\nname = \"x\"\nnegative = [5]\n", "positive"),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = TaskRegistry::with_file(&file).unwrap_err().to_string();
        assert!(err.contains(why) && err.contains("tasks.toml"), "{err}");
    }
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
