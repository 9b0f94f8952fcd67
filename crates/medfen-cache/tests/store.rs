//! The cache: byte-identical builds, keys that change with the spec or a source file,
//! an interrupted build that resumes to the same bytes, verify catching a corrupted
//! record, and gc.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod common;

use common::{small_spec, sources};
use medfen_cache::{
    BuildReport, CacheSource, CacheSpec, build_cache, cache_key, gc_caches, read_index,
    verify_cache,
};

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                PathBuf::from(p.file_name().unwrap()),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Interrupted after 3 exams, then resumed: the same bytes as an uninterrupted build
/// (returned).
fn interrupted_build_resumes(dir: &Path, spec: &CacheSpec, src: &[CacheSource]) -> BuildReport {
    let root_c = dir.join("cache-c");
    let done = AtomicU64::new(0);
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        pool.install(|| {
            build_cache(&root_c, spec, src, &|n| {
                assert!(done.fetch_add(n, Ordering::SeqCst) + n < 3, "killed");
            })
        })
    }));
    assert!(interrupted.is_err());
    let c_dir = std::fs::read_dir(&root_c)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(!c_dir.join("COMPLETE").exists());
    assert!(
        !verify_cache(&c_dir).unwrap().ok(),
        "an incomplete cache does not verify"
    );
    // A crash can leave an exam marked built whose records never reached the disk: the
    // resumed build checks them and builds that exam again.
    let marked: Vec<usize> = (0..src.len())
        .filter(|&i| {
            c_dir
                .join(format!(".partial/{}.json", src[i].exam_id))
                .exists()
        })
        .collect();
    assert!(marked.len() >= 2, "{marked:?}");
    let partial = c_dir.join("data.i16.partial");
    let mut raw = std::fs::read(&partial).unwrap();
    raw[(2 * marked[0] + 1) * spec.record_len() * 2 + 7] ^= 0x10;
    // Left as a build stopped right after renaming its data file leaves it: the
    // resumed build takes the file back and reuses its intact exams.
    std::fs::write(c_dir.join("data.i16"), &raw).unwrap();
    std::fs::remove_file(&partial).unwrap();
    let resumed = build_cache(&root_c, spec, src, &|_| {}).unwrap();
    assert_eq!(
        (resumed.exams_reused, resumed.exams_built),
        (marked.len() - 1, src.len() - marked.len() + 1),
        "{resumed:?}"
    );
    let fresh = build_cache(&dir.join("cache-d"), spec, src, &|_| {}).unwrap();
    assert_eq!(files(&resumed.dir), files(&fresh.dir));
    fresh
}

#[test]
fn builds_are_identical_keyed_resumable_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let src = sources(dir.path(), 8);
    assert_eq!(src.len(), 8, "every split exam is cached (test too)");
    assert!(src.iter().any(|s| s.split.as_deref() == Some("test")));
    let spec = small_spec();

    let a = build_cache(&dir.path().join("cache-a"), &spec, &src, &|_| {}).unwrap();
    assert_eq!(a.records, 16);
    assert_eq!(a.exams_built, 8);
    assert_eq!(a.data_bytes, 16 * 8 * 32 * 32 * 2);
    let index = read_index(&a.dir).unwrap();
    assert_eq!(index.len(), 16);
    assert!(
        index
            .windows(2)
            .all(|w| (w[0].exam_id, w[0].side) < (w[1].exam_id, w[1].side))
    );
    assert!(verify_cache(&a.dir).unwrap().ok());

    // Same inputs, another root: the same key and the same bytes.
    let b = build_cache(&dir.path().join("cache-b"), &spec, &src, &|_| {}).unwrap();
    assert_eq!(a.key, b.key);
    assert_eq!(files(&a.dir), files(&b.dir));
    // A second build in place reuses everything.
    let again = build_cache(&dir.path().join("cache-a"), &spec, &src, &|_| {}).unwrap();
    assert_eq!((again.exams_built, again.exams_reused), (0, 8));

    // One spec value, or one source file, changes the key.
    let other_spec = CacheSpec {
        num_slices: 9,
        ..spec.clone()
    };
    assert_ne!(cache_key(&other_spec, &src).unwrap().0, a.key);
    let some_file = std::fs::read_dir(&src[3].series_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&some_file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&some_file, &bytes).unwrap();
    assert_ne!(
        cache_key(&spec, &src).unwrap().0,
        a.key,
        "rewriting a source file keeps a stale key"
    );

    let fresh = interrupted_build_resumes(dir.path(), &spec, &src);

    // A corrupted record is found by verify.
    let data = fresh.dir.join("data.i16");
    let mut raw = std::fs::read(&data).unwrap();
    let record_bytes = spec.record_len() * 2;
    raw[5 * record_bytes + 100] ^= 0x40;
    std::fs::write(&data, &raw).unwrap();
    let v = verify_cache(&fresh.dir).unwrap();
    assert!(!v.ok());
    let meta = &read_index(&fresh.dir).unwrap()[5];
    assert_eq!(
        v.corrupt,
        vec![(meta.exam_id, meta.side.name().to_string())]
    );
    raw.truncate(raw.len() - 10);
    std::fs::write(&data, &raw).unwrap();
    assert!(verify_cache(&fresh.dir).unwrap().problems[0].contains("data.i16 is"));

    // gc: incomplete builds go; with --keep, other caches go; other folders stay.
    let root = dir.path().join("cache-gc");
    let kept = build_cache(&root, &spec, &src, &|_| {}).unwrap();
    let other = build_cache(&root, &other_spec, &src, &|_| {}).unwrap();
    std::fs::create_dir_all(root.join("incomplete")).unwrap();
    std::fs::write(root.join("incomplete/spec.json"), "{}").unwrap();
    std::fs::create_dir_all(root.join("not-a-cache")).unwrap();
    let dry = gc_caches(&root, None, true).unwrap();
    assert_eq!(dry.removed.len(), 1);
    assert!(
        root.join("incomplete").exists(),
        "a dry run removes nothing"
    );
    let r = gc_caches(&root, Some(std::slice::from_ref(&kept.key)), false).unwrap();
    assert_eq!(r.removed.len(), 2);
    assert!(kept.dir.exists() && !other.dir.exists() && !root.join("incomplete").exists());
    assert!(root.join("not-a-cache").exists());
}

/// The same synth options in two folders, moments apart, give the same cache key: the
/// phantom's files carry their exam's date as modification time, so a newcomer's demo
/// cache has the key README shows.
#[test]
fn the_same_synth_data_written_twice_has_the_same_cache_key() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = sources(a.path(), 3);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = sources(b.path(), 3);
    let spec = small_spec();
    let (key_a, prints_a) = cache_key(&spec, &first).unwrap();
    let (key_b, prints_b) = cache_key(&spec, &second).unwrap();
    assert_eq!(prints_a, prints_b);
    assert_eq!(key_a, key_b);
    // A rewritten file (same name and size, a new time) still makes a new key.
    let dir = &second[0].series_dir;
    let file = std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, std::fs::read(&file).unwrap()).unwrap();
    assert_ne!(cache_key(&spec, &second).unwrap().0, key_a);
}
