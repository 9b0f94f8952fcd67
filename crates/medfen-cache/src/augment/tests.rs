//! The augmentation's loops against each other and against the formulas.

use super::*;

fn spec(k: usize, s: usize) -> CacheSpec {
    CacheSpec {
        num_slices: k,
        image_size: s,
        ..CacheSpec::default()
    }
}

fn flat(k: usize, s: usize, hu: i16) -> Vec<u8> {
    (0..k * s * s).flat_map(|_| hu.to_le_bytes()).collect()
}

/// A record of pseudo-random HU over the whole i16 range's interesting part,
/// with a few extremes.
fn noisy(k: usize, s: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..k * s * s)
        .flat_map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let hu = match i % 97 {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => (x % 5000) as i16 - 1500,
            };
            hu.to_le_bytes()
        })
        .collect()
}

#[test]
fn the_vectorised_loops_give_the_portable_loops_results_bit_for_bit() {
    // Every copy this CPU can run against the portable one. Sizes with tails after
    // every vector width (8, 16), odd planes, whole and partial blocks of slices;
    // the training defaults plus flips, forced affines and a second window, and the
    // original recipe.
    for (k, s) in [
        (3, 19),
        (2, 24),
        (1, 7),
        (10, 13),
        (8, 16),
        (2, 37),
        (9, 33),
        (16, 20),
        (25, 11),
    ] {
        let spec = spec(k, s);
        let raw = noisy(k, s, (k * 100 + s) as u32);
        for aug in [
            Augment::default(),
            Augment {
                flip_columns: 0.5,
                flip_rows: 0.5,
                affine_prob: 1.0,
                scale: (0.5, 1.5),
                extra_windows: vec![(40.0, 400.0)],
                ..Augment::default()
            },
            Augment {
                flip_rows: 1.0,
                ..Augment::eval(300.0, 2000.0)
            },
            Augment {
                affine_prob: 1.0,
                noise_std: 0.0,
                intensity_shift: 0.2,
                ..Augment::default()
            },
            // The original recipe, and its order with every transform forced.
            Augment::original(),
            Augment {
                affine_prob: 1.0,
                intensity_prob: 1.0,
                gamma_prob: 1.0,
                noise_prob: 1.0,
                ..Augment::original()
            },
        ] {
            for sample in 0..12 {
                let n = aug.channels() * k * s * s;
                let run = |isa: Isa| {
                    let mut out = vec![0f32; n];
                    augment_record_with(isa, &raw, &spec, &aug, (5, 1, sample), &mut out);
                    out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                };
                let plain = run(Isa::Baseline);
                for isa in Isa::available() {
                    assert_eq!(run(isa), plain, "{isa:?} k {k} s {s} sample {sample}");
                }
                assert!(
                    plain
                        .iter()
                        .all(|&v| (0.0..=1.0).contains(&f32::from_bits(v)))
                );
            }
        }
    }
}

#[test]
fn the_gamma_pieces_stay_within_2_5e_4_of_the_window_and_power_and_1e_4_above_its_bottom() {
    // The largest errors lie a few HU above the window's bottom, where x^gamma bends
    // most (measured 2.1e-4 at gamma 0.8); above x = 0.01 they stay below 1e-4 (7.5e-5).
    let (mut worst, mut upper) = (0f32, 0f32);
    for (level, width, scale, shift, gamma) in [
        (420.5, 2800.0, 1.07, -0.03, 0.83),
        (500.0, 3000.0, 1.0, 0.0, 0.8),
        (300.0, 2400.0, 0.9, 0.05, 1.25),
        (700.0, 3600.0, 1.1, 0.0, 1.05),
    ] {
        let map = WindowMap::new(level, width, scale, shift, gamma);
        let lo = level - width / 2.0;
        let mut previous = 0f32;
        // Every HU of the windows, and the far ends.
        for hu in (-3000..=5000)
            .chain((-32768..=32767).step_by(997))
            .chain([32767])
        {
            let hu = hu as i16;
            let v = f64::from(((f32::from(hu) - lo) * (1.0 / width)).clamp(0.0, 1.0));
            let want =
                (v.powf(f64::from(gamma)) * f64::from(scale) + f64::from(shift)).clamp(0.0, 1.0);
            let got = map.value(hu);
            worst = worst.max((f64::from(got) - want).abs() as f32);
            if v > 0.01 {
                upper = upper.max((f64::from(got) - want).abs() as f32);
            }
            assert!((0.0..=1.0).contains(&got), "HU {hu}: {got}");
        }
        // no visible wiggle: along every HU, never below an earlier value by 1e-5
        for hu in -2000..=3000i16 {
            let got = map.value(hu);
            assert!(got >= previous - 1e-5, "HU {hu}: {got} after {previous}");
            previous = previous.max(got);
        }
    }
    assert!(worst < 2.5e-4, "largest error {worst}");
    assert!(upper < 1e-4, "largest error above x = 0.01: {upper}");
}

#[test]
fn noise_after_a_gamma_is_within_1e_4_of_clamping_before_and_after_it() {
    // Intensity scale and shift that push the curve out of [0, 1] at both ends,
    // where the one clamp after the noise stands in for the two.
    for (scale, shift) in [(1.1, -0.05), (0.9, 0.05), (1.0, 0.0)] {
        let map = WindowMap::new(480.0, 2700.0, scale, shift, 0.83);
        let hu: Vec<i16> = (-1500..3500).step_by(3).map(|h| h as i16).collect();
        let noise = Noise::new(0.05, 99);
        let mut start = 0;
        while start < hu.len() {
            let piece = &hu[start..(start + PIECE).min(hu.len())];
            let run = noise.run(start / PIECE, piece.len());
            for isa in Isa::available() {
                let mut out = vec![0f32; piece.len()];
                map.apply_noisy(isa, piece, &mut out, run);
                for ((&h, &got), &t) in piece.iter().zip(&out).zip(run.draws) {
                    let want = run.at(t, map.value(h));
                    assert!(
                        (got - want).abs() <= 1e-4 && (0.0..=1.0).contains(&got),
                        "{isa:?} HU {h}: {got} vs {want}"
                    );
                }
            }
            start += PIECE;
        }
    }
}

#[test]
fn pixel_noise_has_the_requested_spread_around_the_window_value() {
    let (k, s) = (4, 64);
    let spec = spec(k, s);
    // HU 500 sits at 0.5 in the 500/3000 window
    let raw = flat(k, s, 500);
    let aug = Augment {
        noise_std: 0.02,
        ..Augment::eval(500.0, 3000.0)
    };
    let mut out = vec![0f32; k * s * s];
    augment_record(&raw, &spec, &aug, 3, 0, 9, &mut out);
    let n = out.len() as f64;
    let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let sd = (out
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    assert!((mean - 0.5).abs() < 0.001, "mean {mean}");
    assert!((sd - 0.02).abs() < 0.001, "sd {sd}");
    // slices get different noise
    assert_ne!(out[..s * s], out[s * s..2 * s * s]);
}

#[test]
fn an_affine_that_moves_nothing_is_the_identity_and_far_points_read_the_pad() {
    let (k, s) = (2, 16);
    let spec = spec(k, s);
    let raw: Vec<u8> = (0..k * s * s)
        .flat_map(|i| ((i % (s * s)) as i16 * 5 - 600).to_le_bytes())
        .collect();
    let still = Augment {
        affine_prob: 1.0,
        rotate_deg: 0.0,
        scale: (1.0, 1.0),
        shift: 0.0,
        ..Augment::eval(500.0, 3000.0)
    };
    let (mut a, mut b) = (vec![0f32; k * s * s], vec![0f32; k * s * s]);
    augment_record(&raw, &spec, &still, 1, 0, 0, &mut a);
    augment_record(&raw, &spec, &Augment::eval(500.0, 3000.0), 1, 0, 0, &mut b);
    assert_eq!(a, b);
    // zoomed out 4x: the border of the output lies outside the source -> pad HU
    let far = Augment {
        scale: (0.25, 0.25),
        ..still
    };
    augment_record(&raw, &spec, &far, 1, 0, 0, &mut a);
    let pad = ((f32::from(spec.pad_hu) + 1000.0) / 3000.0).clamp(0.0, 1.0);
    assert_eq!(a[0], pad);
    assert_eq!(a[s * s - 1], pad);
    // the centre still reads the image
    assert_ne!(a[s / 2 * s + s / 2], pad);
}

/// The original pipeline's value transforms in f64: intensity, then the gamma (when
/// there is one) on values clamped to [1e-6, 1]; not yet clamped to [0, 1].
fn original_value(hu: i16, (level, width): (f32, f32), (s, b, g): (f64, f64, f64)) -> f64 {
    let lo = f64::from(level) - f64::from(width) / 2.0;
    let x = ((f64::from(hu) - lo) / f64::from(width)).clamp(0.0, 1.0);
    let v = x * s + b;
    if (g - 1.0).abs() > 1e-6 {
        v.clamp(1e-6, 1.0).powf(g)
    } else {
        v
    }
}

#[test]
fn the_original_order_follows_its_formula_for_gamma_from_0_6_to_1_6() {
    // Every HU of four windows, intensities at the ends of the original's ranges. The
    // gamma pieces' error peaks a few HU above the window's bottom, where x^gamma
    // bends most: measured 2.2e-3 at gamma 0.6, 7.3e-4 at 0.7, 1.1e-4 at 0.85, below
    // 1e-4 from 1 up (see `kernels::gamma`).
    for (g, bound) in [
        (0.6f32, 2.5e-3),
        (0.7, 1e-3),
        (0.85, 1.5e-4),
        (1.0, 1e-6),
        (1.25, 1e-4),
        (1.6, 1e-4),
    ] {
        let mut worst = 0f64;
        for (level, width) in [
            (500.0, 3000.0),
            (420.5, 2800.0),
            (700.0, 3600.0),
            (300.0, 2400.0),
        ] {
            for (s, b) in [(0.85f32, -0.15f32), (1.15, 0.15), (1.0, 0.0), (0.9, 0.07)] {
                let map = WindowMap::intensity_first(level, width, s, b, g);
                let exact = (f64::from(s), f64::from(b), f64::from(g));
                for hu in -2000..=4000i16 {
                    let want = original_value(hu, (level, width), exact).clamp(0.0, 1.0);
                    let got = map.value(hu);
                    assert!((0.0..=1.0).contains(&got), "HU {hu}: {got}");
                    worst = worst.max((f64::from(got) - want).abs());
                }
            }
        }
        assert!(worst <= bound, "gamma {g}: largest error {worst:.2e}");
    }
}

#[test]
fn in_the_original_order_noise_is_added_before_any_clamp() {
    // Bright bone saturates the window: x = 1, so x * 1.15 + 0.1 = 1.25, and without a
    // gamma, noise of a few hundredths leaves it at 1 (medfen's order clamps first:
    // 1 - noise).
    let noise = Noise::new(0.03, 7);
    let hu: Vec<i16> = (0..PIECE).map(|i| (i as i16 % 400) * 10 - 1000).collect();
    let run = noise.run(0, PIECE);
    for g in [1.0f32, 0.7] {
        let map = WindowMap::intensity_first(500.0, 3000.0, 1.15, 0.1, g);
        for isa in Isa::available() {
            let mut out = vec![0f32; PIECE];
            map.apply_noisy(isa, &hu, &mut out, run);
            for ((&h, &got), &t) in hu.iter().zip(&out).zip(run.draws) {
                let raw = original_value(h, (500.0, 3000.0), (1.15, 0.1, f64::from(g)));
                let want = (raw + f64::from(t) * f64::from(run.scale)).clamp(0.0, 1.0);
                assert!(
                    (f64::from(got) - want).abs() < 2e-3,
                    "{isa:?} gamma {g} HU {h}: {got} vs {want}"
                );
                // (A gamma clamps to [1e-6, 1] itself, as in the original.)
                if g == 1.0 && h >= 2000 && f64::from(t) * f64::from(run.scale) > -0.25 {
                    assert_eq!(got, 1.0, "saturated bone stays at 1");
                }
            }
        }
    }
}

#[test]
fn the_original_recipe_draws_each_transform_with_its_probability() {
    let n = 4000;
    let (mut counts, mut sigmas) = ([0usize; 6], Vec::new());
    for sample in 0..n {
        let d = Draws::new(&Augment::original(), 224, &mut SampleRng::new(3, 1, sample));
        let seen = [
            d.applied.intensity,
            d.applied.gamma,
            d.noise.is_some(),
            d.flip_r,
            d.flip_c,
            d.affine.is_some(),
        ];
        for (c, on) in counts.iter_mut().zip(seen) {
            *c += usize::from(on);
        }
        if let Some((sigma, _)) = d.noise {
            sigmas.push(sigma);
        }
    }
    let share = |c: usize| c as f64 / f64::from(n as u32);
    for (what, c, p) in [
        ("intensity", counts[0], 0.6),
        ("gamma", counts[1], 0.2),
        ("noise", counts[2], 0.2),
        ("row flip", counts[3], 0.2),
        ("column flip", counts[4], 0.2),
        ("affine", counts[5], 0.0),
    ] {
        // 4000 draws: a standard error below 0.008.
        assert!((share(c) - p).abs() < 0.03, "{what}: {} vs {p}", share(c));
    }
    // Noise standard deviations spread over [0, 0.05].
    let mean = sigmas.iter().map(|&s| f64::from(s)).sum::<f64>() / sigmas.len() as f64;
    assert!(sigmas.iter().all(|&s| (0.0..=0.05).contains(&s)));
    assert!((mean - 0.025).abs() < 0.003, "mean sigma {mean}");
    // medfen's defaults draw every value transform for every sample, at a fixed sigma.
    for sample in 0..200 {
        let d = Draws::new(&Augment::default(), 224, &mut SampleRng::new(3, 1, sample));
        assert!(d.applied.intensity && d.applied.gamma);
        assert_eq!(d.noise.map(|(sigma, _)| sigma), Some(0.02));
    }
}

#[test]
fn settings_written_before_the_per_transform_fields_read_back_as_they_meant() {
    // A training run's `run.json` from before `intensity_prob` .. `intensity_first`:
    // --resume must find the same settings (every transform on every sample).
    let mut old = serde_json::to_value(Augment::default()).unwrap();
    let fields = old.as_object_mut().unwrap();
    for added in [
        "intensity_prob",
        "gamma_prob",
        "noise_prob",
        "noise_std_min",
        "intensity_first",
    ] {
        assert!(fields.remove(added).is_some(), "{added}");
    }
    let read: Augment = serde_json::from_value(old).unwrap();
    assert_eq!(read, Augment::default());
    // and the original recipe survives a round trip
    let original = serde_json::to_string(&Augment::original()).unwrap();
    assert_eq!(
        serde_json::from_str::<Augment>(&original).unwrap(),
        Augment::original()
    );
}

#[test]
fn in_the_original_order_an_affine_that_moves_nothing_changes_nothing() {
    // The affine resamples `x * s + b` unclamped (resampling commutes with the
    // intensity, as in the original, where the affine comes first), so an identity
    // affine gives the values of no affine, noise and clamps included.
    let (k, s) = (3, 24);
    let spec = spec(k, s);
    let raw = noisy(k, s, 77);
    let still = Augment {
        affine_prob: 1.0,
        rotate_deg: 0.0,
        scale: (1.0, 1.0),
        shift: 0.0,
        intensity_prob: 1.0,
        intensity_shift: 0.3,
        noise_prob: 1.0,
        gamma_prob: 0.0,
        ..Augment::original()
    };
    let none = Augment {
        affine_prob: 0.0,
        ..still.clone()
    };
    let n = k * s * s;
    let mut saturated = 0;
    for sample in 0..8 {
        for isa in Isa::available() {
            let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
            augment_record_with(isa, &raw, &spec, &still, (2, 0, sample), &mut a);
            augment_record_with(isa, &raw, &spec, &none, (2, 0, sample), &mut b);
            assert_eq!(a, b, "{isa:?} sample {sample}");
            saturated += a.iter().filter(|&&v| v == 1.0).count();
        }
    }
    // (the shift pushes bright values past 1, where the order matters)
    assert!(saturated > 0);
}
