//! Loader throughput against a plain memory copy of the same bytes, in one process,
//! measured right before each case: into one record-sized buffer, on one thread
//! (`memcpy_ears_per_s`) and on as many threads as the case
//! (`memcpy_same_threads_ears_per_s`); and batch by batch into a batch buffer as the
//! loader delivers, on one thread (`memcpy_batches_ears_per_s`) and on the case's
//! threads (`memcpy_batches_same_threads_ears_per_s`).
//! Run by `cargo xtask bench cache`: `cargo bench -p medfen-cache --bench loader -- DIR [FILTER]`
//! (FILTER: run only the cases whose name contains it, e.g. `train-record`).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use medfen_cache::{Augment, CacheReader, EpochPosition, make_batch_into};

/// Ears per batch, in the loader cases and in the batch copy.
const BATCH: usize = 8;

/// A zeroed buffer of `len` bytes backed by 2 MiB pages where Linux agrees, as the
/// loader's batches are.
fn huge_page_buffer(len: usize) -> Vec<u8> {
    let mut buffer: Vec<u8> = Vec::with_capacity(len);
    medfen_io::advise_huge_pages(&mut buffer);
    buffer.resize(len, 0);
    buffer
}

/// Ears per second of a copy: (records copied, seconds).
type Copied = (usize, f64);

/// Copies every record into one buffer, repeatedly, for at least 1 s. Measured again
/// right before every case (the machine's speed drifts), and each case is reported
/// with the baseline next to it.
fn memcpy(reader: &CacheReader) -> Copied {
    let (n, bytes) = (reader.len(), reader.record_bytes(0).len());
    let mut sink = vec![0u8; bytes];
    let (mut copied, start) = (0usize, Instant::now());
    while start.elapsed().as_secs_f64() < 1.0 {
        for i in 0..n {
            sink.copy_from_slice(reader.record_bytes(i));
            std::hint::black_box(&sink);
            copied += 1;
        }
    }
    (copied, start.elapsed().as_secs_f64())
}

/// The same copy on every thread of `pool` at once (each into its own buffer, each
/// thread its share of the records): the memory system's bandwidth on all cores.
fn memcpy_on(reader: &CacheReader, pool: &rayon::ThreadPool) -> Copied {
    use rayon::prelude::*;
    let (n, bytes) = (reader.len(), reader.record_bytes(0).len());
    let t = pool.current_num_threads();
    let start = Instant::now();
    let copied: usize = pool.install(|| {
        (0..t)
            .into_par_iter()
            .map(|k| {
                let mut sink = vec![0u8; bytes];
                let mut copied = 0;
                while start.elapsed().as_secs_f64() < 1.0 {
                    for i in (k..n).step_by(t) {
                        sink.copy_from_slice(reader.record_bytes(i));
                        std::hint::black_box(&sink);
                        copied += 1;
                    }
                }
                copied
            })
            .sum()
    });
    (copied, start.elapsed().as_secs_f64())
}

/// The copy as the loader delivers: each batch's records copied into a batch buffer
/// (recycled, backed by 2 MiB pages like the loader's), the records of a batch split
/// over the pool's threads as the loader splits them. Unlike the copy into one record
/// buffer, whose destination stays in the caches, this one writes to memory.
fn memcpy_batches(reader: &CacheReader, batch: &mut [u8], pool: &rayon::ThreadPool) -> Copied {
    use rayon::prelude::*;
    let bytes = reader.record_bytes(0).len();
    let records: Vec<usize> = (0..reader.len()).collect();
    let (mut copied, start) = (0usize, Instant::now());
    while start.elapsed().as_secs_f64() < 1.0 {
        for chunk in records.chunks(BATCH) {
            pool.install(|| {
                batch
                    .par_chunks_mut(bytes)
                    .zip(chunk.par_iter())
                    .with_max_len(1)
                    .for_each(|(dst, &i)| dst.copy_from_slice(reader.record_bytes(i)));
            });
            std::hint::black_box(&batch);
            copied += chunk.len();
        }
    }
    (copied, start.elapsed().as_secs_f64())
}

/// One thread, one reused output buffer: the augmentation alone, without batch
/// allocation or threads.
fn record_cases(reader: &CacheReader, wanted: &dyn Fn(&str) -> bool) {
    let spec = reader.spec().clone();
    for (name, aug) in [
        ("eval-record", Augment::eval(500.0, 3000.0)),
        ("train-record", Augment::default()),
    ] {
        if !wanted(name) {
            continue;
        }
        let mut out = vec![0f32; aug.channels() * spec.record_len()];
        let (copied, copy_secs) = memcpy(reader);
        let (mut ears, start) = (0usize, Instant::now());
        while start.elapsed().as_secs_f64() < 1.0 {
            for i in 0..reader.len() {
                medfen_cache::augment_record(
                    reader.record_bytes(i),
                    &spec,
                    &aug,
                    1,
                    0,
                    ears as u64,
                    &mut out,
                );
                std::hint::black_box(&out);
                ears += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{{\"what\":\"{name}\",\"threads\":1,\"ears\":{ears},\"seconds\":{secs},\"memcpy_ears_per_s\":{}}}",
            copied as f64 / copy_secs
        );
    }
}

/// The loader as training uses it (batch buffers recycled) for 2 s on `pool`: ears
/// delivered and seconds.
fn loader_case(reader: &CacheReader, aug: &Augment, pool: &rayon::ThreadPool) -> Copied {
    let records: Vec<usize> = (0..reader.len()).collect();
    let (mut ears, start) = (0usize, Instant::now());
    let mut epoch = 0;
    let mut buffer = Vec::new();
    while start.elapsed().as_secs_f64() < 2.0 {
        for (b, chunk) in records.chunks(BATCH).enumerate() {
            let at = EpochPosition::start(1, epoch).advanced(b * BATCH);
            let b = pool
                .install(|| make_batch_into(reader, chunk, aug, at, std::mem::take(&mut buffer)));
            std::hint::black_box(&b);
            buffer = b.data;
            ears += chunk.len();
        }
        epoch += 1;
    }
    (ears, start.elapsed().as_secs_f64())
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .expect("usage: loader CACHE_DIR [FILTER]");
    // An optional filter runs only the cases whose name contains it ("train", "eval").
    // (cargo bench appends `--bench`.)
    let filter = std::env::args()
        .skip(2)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let wanted = |name: &str| name.contains(filter.as_str());
    let reader = CacheReader::open(std::path::Path::new(&dir)).expect("a complete cache");
    let (copied, secs) = memcpy(&reader);
    println!("{{\"what\":\"memcpy\",\"ears\":{copied},\"seconds\":{secs}}}");
    let mut batch = huge_page_buffer(BATCH * reader.record_bytes(0).len());
    record_cases(&reader, &wanted);
    let threads = rayon::current_num_threads();
    for (name, aug) in [
        ("eval", Augment::eval(500.0, 3000.0)),
        ("train", Augment::default()),
        // The original pipeline's recipe (`Augment::original`).
        ("train-original", Augment::original()),
    ] {
        if !wanted(name) {
            continue;
        }
        for t in [1, threads] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("pool");
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("pool");
            let (batch_all, batch_all_secs) = memcpy_batches(&reader, &mut batch, &pool);
            let (batch_one, batch_one_secs) = memcpy_batches(&reader, &mut batch, &one);
            let (copied_all, all_secs) = memcpy_on(&reader, &pool);
            let (copied, copy_secs) = memcpy(&reader);
            let (ears, secs) = loader_case(&reader, &aug, &pool);
            println!(
                "{{\"what\":\"{name}\",\"threads\":{t},\"ears\":{ears},\"seconds\":{secs},\"memcpy_ears_per_s\":{},\"memcpy_same_threads_ears_per_s\":{},\"memcpy_batches_ears_per_s\":{},\"memcpy_batches_same_threads_ears_per_s\":{}}}",
                copied as f64 / copy_secs,
                copied_all as f64 / all_secs,
                batch_one as f64 / batch_one_secs,
                batch_all as f64 / batch_all_secs
            );
        }
    }
}
