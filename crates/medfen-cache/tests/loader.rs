//! The loader: records from the memory map, deterministic augmentation applied the
//! same way to every slice of an ear, samplers, and background batches.

mod common;

use std::sync::Arc;

use medfen_cache::{
    Augment, CacheReader, CacheSpec, EpochPosition, Loader, SamplerKind, augment_record,
    build_cache, double_correction_warning, epoch_order, make_batch, make_batch_into,
};

fn spec(k: usize, s: usize) -> CacheSpec {
    CacheSpec {
        num_slices: k,
        image_size: s,
        ..CacheSpec::default()
    }
}

/// A record whose K slices are the same ramp image.
fn ramp(k: usize, s: usize) -> Vec<u8> {
    (0..k)
        .flat_map(|_| (0..s * s).map(move |i| (i as i16 * 7 - 1000).to_le_bytes()))
        .flatten()
        .collect()
}

#[test]
fn evaluation_windows_exactly_and_training_draws_are_shared_by_all_slices() {
    let (k, s) = (4, 16);
    let sp = spec(k, s);
    let raw = ramp(k, s);
    let eval = Augment::eval(500.0, 3000.0);
    let mut out = vec![0f32; k * s * s];
    augment_record(&raw, &sp, &eval, 1, 0, 0, &mut out);
    for (i, v) in out.iter().enumerate() {
        let hu = ((i % (s * s)) as f32) * 7.0 - 1000.0;
        let want = ((hu + 1000.0) / 3000.0).clamp(0.0, 1.0);
        assert!((v - want).abs() < 1e-6, "pixel {i}: {v} vs {want}");
    }
    // Training draws (no noise): every slice of the ear gets the same transform.
    let aug = Augment {
        noise_std: 0.0,
        affine_prob: 1.0,
        flip_columns: 0.5,
        ..Augment::default()
    };
    for sample in 0..6 {
        augment_record(&raw, &sp, &aug, 7, 3, sample, &mut out);
        let first = &out[..s * s];
        for z in 1..k {
            assert_eq!(
                &out[z * s * s..(z + 1) * s * s],
                first,
                "slice {z} of sample {sample}"
            );
        }
        let mut again = vec![0f32; out.len()];
        augment_record(&raw, &sp, &aug, 7, 3, sample, &mut again);
        assert_eq!(again, out, "same (seed, epoch, sample), same output");
    }
    // A column flip mirrors the columns, nothing else.
    let flip = Augment {
        flip_columns: 1.0,
        ..eval.clone()
    };
    let mut flipped = vec![0f32; out.len()];
    augment_record(&raw, &sp, &flip, 1, 0, 0, &mut flipped);
    let mut plain = vec![0f32; out.len()];
    augment_record(&raw, &sp, &eval, 1, 0, 0, &mut plain);
    for r in 0..s {
        for c in 0..s {
            assert_eq!(flipped[r * s + c], plain[r * s + (s - 1 - c)]);
        }
    }
    // Both flips: rows and columns mirrored, in every slice.
    let both = Augment {
        flip_rows: 1.0,
        flip_columns: 1.0,
        ..eval.clone()
    };
    augment_record(&raw, &sp, &both, 1, 0, 0, &mut flipped);
    for z in 0..k {
        let at = z * s * s;
        for r in 0..s {
            for c in 0..s {
                let want = plain[at + (s - 1 - r) * s + (s - 1 - c)];
                assert_eq!(
                    flipped[at + r * s + c],
                    want,
                    "slice {z} row {r} column {c}"
                );
            }
        }
    }
    // An identity affine (forced) resamples at pixel centres: the same image.
    let identity = Augment {
        affine_prob: 1.0,
        ..eval.clone()
    };
    let mut same = vec![0f32; out.len()];
    augment_record(&raw, &sp, &identity, 1, 0, 0, &mut same);
    assert_eq!(same, plain);
    // Extra windows add channels.
    let multi = Augment {
        extra_windows: vec![(40.0, 400.0)],
        ..eval
    };
    let mut two = vec![0f32; 2 * k * s * s];
    augment_record(&raw, &sp, &multi, 1, 0, 0, &mut two);
    assert_eq!(&two[..k * s * s], &plain[..]);
    let hu: f32 = 50.0 * 7.0 - 1000.0; // pixel 50
    assert!((two[k * s * s + 50] - ((hu - (40.0 - 200.0)) / 400.0).clamp(0.0, 1.0)).abs() < 1e-6);
}

#[test]
fn batches_from_the_memory_map_are_deterministic_and_prefetched() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::sources(dir.path(), 6);
    let built = build_cache(
        &dir.path().join("cache"),
        &common::small_spec(),
        &src,
        &|_| {},
    )
    .unwrap();
    let reader = Arc::new(CacheReader::open(&built.dir).unwrap());
    assert_eq!(reader.len(), 12);
    let raw = std::fs::read(built.dir.join("data.i16")).unwrap();
    let rb = reader.spec().record_len() * 2;
    assert_eq!(reader.record_bytes(3), &raw[3 * rb..4 * rb]);
    assert_eq!(
        reader.record(3)[0],
        i16::from_le_bytes([raw[3 * rb], raw[3 * rb + 1]])
    );

    let aug = Augment::default();
    let at = EpochPosition::start(11, 2);
    let a = make_batch(&reader, &[0, 5, 7], &aug, at);
    let b = make_batch(&reader, &[0, 5, 7], &aug, at);
    assert_eq!(a, b);
    assert_eq!(a.shape, [3, 1, 8, 32, 32]);
    assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)));
    let c = make_batch(&reader, &[0, 5, 7], &aug, EpochPosition::start(11, 3));
    assert_ne!(a.data, c.data, "another epoch, other draws");
    // A record drawn twice in an epoch (class-balanced sampling draws with
    // replacement) is augmented differently each time: the draw follows the sample's
    // position, not its record.
    let twice = make_batch(&reader, &[5, 5], &aug, at);
    let per = twice.data.len() / 2;
    assert_ne!(twice.data[..per], twice.data[per..]);
    // ... and the position alone decides: record 5 at position 1 is the same sample in
    // any batch.
    assert_eq!(twice.data[per..], a.data[per..2 * per]);
    let shifted = make_batch(&reader, &[5], &aug, at.advanced(1));
    assert_eq!(shifted.data, a.data[per..2 * per]);

    let codes: Vec<Option<u8>> = reader.index().iter().map(|m| m.code).collect();
    let all: Vec<usize> = (0..reader.len()).collect();
    let order = epoch_order(SamplerKind::Shuffle, &all, &codes, 11, 2);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, all);
    assert_eq!(
        order,
        epoch_order(SamplerKind::Shuffle, &all, &codes, 11, 2)
    );
    let batches: Vec<_> =
        Loader::start(Arc::clone(&reader), order.clone(), 5, aug.clone(), at, 2).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(
        batches[1],
        make_batch(&reader, &order[5..10], &aug, at.advanced(5))
    );
    // A resumed epoch (the order from position 5 on) makes the same batches.
    let resumed: Vec<_> = Loader::start(
        Arc::clone(&reader),
        order[5..].to_vec(),
        5,
        aug.clone(),
        at.advanced(5),
        2,
    )
    .collect();
    assert_eq!(resumed, batches[1..]);
    // Recycled buffers (bigger, holding old values) give the same batches: the last
    // batch (2 ears) is made in the buffer of a 5-ear one.
    let mut recycling = Loader::start(Arc::clone(&reader), order.clone(), 5, aug.clone(), at, 1);
    let mut again = Vec::new();
    while let Some(b) = recycling.next() {
        again.push(b.clone());
        recycling.recycle(b);
    }
    assert_eq!(again, batches);
    let reused = make_batch_into(
        &reader,
        &order[10..],
        &aug,
        at.advanced(10),
        vec![7.0; 10_000],
    );
    assert_eq!(reused, batches[2]);
    // Dropping a loader early does not hang.
    let mut early = Loader::start(reader, order, 1, aug, at, 1);
    assert!(early.next().is_some());
    drop(early);
}

#[test]
fn the_class_balanced_sampler_evens_out_classes() {
    let codes: Vec<Option<u8>> = (0..1000)
        .map(|i| Some(if i % 10 == 0 { 4 } else { 5 }))
        .collect();
    let all: Vec<usize> = (0..codes.len()).collect();
    let order = epoch_order(SamplerKind::ClassBalanced, &all, &codes, 3, 0);
    let rare = order.iter().filter(|&&i| codes[i] == Some(4)).count();
    assert!(
        (420..=580).contains(&rare),
        "{rare} of 1000 draws from the 10% class"
    );
    assert!(double_correction_warning(SamplerKind::ClassBalanced, true).is_some());
    assert!(double_correction_warning(SamplerKind::Shuffle, true).is_none());
}
