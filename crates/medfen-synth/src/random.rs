//! Deterministic random streams: every choice draws from a stream named by (seed,
//! purpose, item id), so adding an exam or running in parallel changes nothing else.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// A random stream for one purpose and item. Distributions are implemented here (not
/// taken from `rand_distr`) so outputs stay byte-identical across dependency updates.
pub(crate) struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream of `purpose` for item `id` under `seed`.
    pub fn new(seed: u64, purpose: &str, id: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"medfen-synth\0");
        h.update(seed.to_le_bytes());
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(id.to_le_bytes());
        let digest: [u8; 32] = h.finalize().into();
        Self(ChaCha8Rng::from_seed(digest))
    }

    /// A uniform 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in [-a, a].
    pub fn symmetric(&mut self, a: f64) -> f64 {
        self.uniform(-a, a)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in [lo, hi] (inclusive).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }

    /// An index drawn with the given (non-negative) weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut r = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.int(0, i as i64) as usize;
            items.swap(i, j);
        }
    }

    /// Standard normal (Box-Muller).
    #[cfg(test)]
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A fast generator for per-pixel noise (xorshift64*), seeded from a [`Stream`].
pub(crate) struct PixelNoise(u64);

impl PixelNoise {
    pub fn new(stream: &mut Stream) -> Self {
        Self(stream.next_u64() | 1)
    }

    /// Approximately standard normal: the sum of four 16-bit uniforms (Irwin-Hall),
    /// centred and scaled to unit variance.
    #[inline]
    pub fn next(&mut self) -> f32 {
        // mean 2 * 65535, variance 4 * (65536^2 - 1) / 12
        const MEAN: f32 = 131_070.0;
        const INV_SD: f32 = 1.0 / 37_837.23;
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let sum = (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
        (sum as f32 - MEAN) * INV_SD
    }
}

#[cfg(test)]
mod tests {
    use super::{PixelNoise, Stream};

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Stream::new(1, "x", 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Stream::new(1, "x", 2).next_u64(),
            Stream::new(1, "x", 3).next_u64()
        );
        assert_ne!(
            Stream::new(1, "x", 2).next_u64(),
            Stream::new(1, "y", 2).next_u64()
        );
        assert_ne!(
            Stream::new(1, "x", 2).next_u64(),
            Stream::new(2, "x", 2).next_u64()
        );
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut s = Stream::new(7, "moments", 0);
        let n = 200_000;
        let normals: Vec<f64> = (0..n).map(|_| s.normal()).collect();
        let mean = normals.iter().sum::<f64>() / f64::from(n);
        let var = normals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
        let mut noise = PixelNoise::new(&mut s);
        let px: Vec<f64> = (0..n).map(|_| f64::from(noise.next())).collect();
        let mean = px.iter().sum::<f64>() / f64::from(n);
        let var = px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
        let counts = (0..60_000).fold([0usize; 3], |mut c, _| {
            c[s.weighted(&[1.0, 2.0, 3.0])] += 1;
            c
        });
        for (c, want) in counts.iter().zip([10_000.0, 20_000.0, 30_000.0]) {
            assert!((*c as f64 - want).abs() < 600.0, "{counts:?}");
        }
    }
}
