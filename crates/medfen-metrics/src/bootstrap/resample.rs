//! Drawing bootstrap replicates: cluster counts from seeded, per-replicate streams.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::clusters::Clusters;
use crate::ranked::{RankedScores, Tally};

/// Draws replicates as counts per cluster and turns them into tallies.
pub(crate) struct Resampler<'a> {
    ranked: &'a RankedScores,
    /// Cluster of each sample, in sorted (ranked) order.
    cluster_sorted: Vec<u32>,
    /// Score group of each sample, in sorted order.
    group_sorted: Vec<u32>,
    /// Cluster ids of each stratum (one stratum when not stratified).
    strata: Vec<Vec<u32>>,
    /// Samples of each cluster, as (group, is positive).
    members: Vec<Vec<(u32, bool)>>,
    /// (positives, negatives) of each cluster.
    class_counts: Vec<(u32, u32)>,
    n_clusters: usize,
    seed: u64,
}

impl<'a> Resampler<'a> {
    /// `labels` by original index. When `stratified`, clusters are resampled within
    /// their class profile (only positives, only negatives, both), so every replicate
    /// holds both classes and the same number of clusters of each profile.
    pub(crate) fn new(
        ranked: &'a RankedScores,
        labels: &[bool],
        clusters: &Clusters,
        stratified: bool,
        seed: u64,
    ) -> Self {
        let cluster_sorted = ranked
            .order()
            .iter()
            .map(|&i| clusters.cluster_of(i as usize) as u32)
            .collect();
        let members: Vec<Vec<(u32, bool)>> = clusters
            .members()
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|i| (ranked.group_of(i as usize) as u32, labels[i as usize]))
                    .collect()
            })
            .collect();
        let strata = if stratified {
            let mut by_profile: BTreeMap<(bool, bool), Vec<u32>> = BTreeMap::new();
            for (c, m) in members.iter().enumerate() {
                let has_pos = m.iter().any(|(_, l)| *l);
                let has_neg = m.iter().any(|(_, l)| !*l);
                by_profile
                    .entry((has_pos, has_neg))
                    .or_default()
                    .push(c as u32);
            }
            by_profile.into_values().collect()
        } else {
            vec![(0..clusters.n_clusters() as u32).collect()]
        };
        let class_counts = members
            .iter()
            .map(|m| {
                let pos = m.iter().filter(|(_, l)| *l).count() as u32;
                (pos, m.len() as u32 - pos)
            })
            .collect();
        Self {
            ranked,
            cluster_sorted,
            group_sorted: ranked.sorted_groups(),
            strata,
            members,
            class_counts,
            n_clusters: clusters.n_clusters(),
            seed,
        }
    }

    pub(crate) fn n_clusters(&self) -> usize {
        self.n_clusters
    }

    /// Fills `counts` (one per cluster) with how often replicate `r` draws each cluster.
    /// Replicate `r` uses ChaCha8 stream `r` of the seed, so it is the same whichever
    /// thread computes it.
    pub(crate) fn draw(&self, r: u64, counts: &mut [u32]) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(r);
        counts.fill(0);
        for stratum in &self.strata {
            let k = stratum.len() as u64;
            let below = UniformBelow::new(k);
            for _ in 0..k {
                counts[stratum[below.sample(&mut rng) as usize] as usize] += 1;
            }
        }
    }

    /// The tally of a replicate with the given cluster counts: one flat pass over the
    /// sorted samples (the hot loop of every bootstrap).
    pub(crate) fn tally_into(&self, counts: &[u32], tally: &mut Tally) {
        tally.pos.fill(0.0);
        tally.neg.fill(0.0);
        let samples = self
            .cluster_sorted
            .iter()
            .zip(self.ranked.sorted_labels())
            .zip(&self.group_sorted);
        for ((&c, &label), &g) in samples {
            let w = f64::from(counts[c as usize]);
            let p = w * label;
            tally.pos[g as usize] += p;
            tally.neg[g as usize] += w - p;
        }
        // Totals from whole clusters, in integers: no extra chain in the loop above.
        let (mut all_pos, mut all_neg) = (0u64, 0u64);
        for (&k, &(p, n)) in counts.iter().zip(&self.class_counts) {
            all_pos += u64::from(k) * u64::from(p);
            all_neg += u64::from(k) * u64::from(n);
        }
        tally.total_pos = all_pos as f64;
        tally.total_neg = all_neg as f64;
    }

    /// Calls `f` with the tally that leaves out each cluster in turn (jackknife).
    pub(crate) fn for_each_leave_one_out(&self, mut f: impl FnMut(usize, &Tally)) {
        let mut tally = self.ranked.tally();
        for (c, m) in self.members.iter().enumerate() {
            Self::shift(&mut tally, m, -1.0);
            f(c, &tally);
            Self::shift(&mut tally, m, 1.0);
        }
    }
}

impl Resampler<'_> {
    /// Adds `by` to the counts of a cluster's samples (and to the totals).
    fn shift(tally: &mut Tally, members: &[(u32, bool)], by: f64) {
        for &(g, pos) in members {
            if pos {
                tally.pos[g as usize] += by;
                tally.total_pos += by;
            } else {
                tally.neg[g as usize] += by;
                tally.total_neg += by;
            }
        }
    }
}

/// Unbiased integers in `0..n` (Lemire's multiply-and-reject), independent of any
/// distribution code that might change between `rand` releases. The rejection bound
/// (a division) is computed once per range.
struct UniformBelow {
    n: u64,
    reject_below: u64,
}

impl UniformBelow {
    fn new(n: u64) -> Self {
        debug_assert!(n > 0);
        Self {
            n,
            reject_below: n.wrapping_neg() % n,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        loop {
            let m = u128::from(rng.next_u64()) * u128::from(self.n);
            if (m as u64) >= self.reject_below {
                return (m >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_below_is_unbiased_enough() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut hist = [0u32; 6];
        let six = UniformBelow::new(6);
        for _ in 0..60_000 {
            hist[six.sample(&mut rng) as usize] += 1;
        }
        assert!(
            hist.iter().all(|&h| (9_500..10_500).contains(&h)),
            "{hist:?}"
        );
    }

    #[test]
    fn replicates_are_reproducible_and_stratified_by_profile() {
        // 12 two-ear exams: 4 with two positives, 4 mixed, 4 with two negatives.
        let labels: Vec<bool> = (0..24)
            .map(|i| i < 8 || (8..16).contains(&i) && i % 2 == 0)
            .collect();
        let scores: Vec<f64> = (0..24).map(|i| f64::from(i * 7 % 24) / 24.0).collect();
        let clusters = Clusters::from_ids(&(0..24).map(|i| i / 2).collect::<Vec<_>>());
        let ranked = RankedScores::new(&labels, &scores).unwrap();
        let rs = Resampler::new(&ranked, &labels, &clusters, true, 42);
        let (mut a, mut b) = (vec![0; 12], vec![0; 12]);
        let mut tally = ranked.empty_tally();
        let mut seen = std::collections::HashSet::new();
        for r in 0..50 {
            rs.draw(r, &mut a);
            rs.draw(r, &mut b);
            assert_eq!(a, b, "replicate {r} is not reproducible");
            // Four clusters drawn from each profile.
            for profile in [0..4, 4..8, 8..12] {
                assert_eq!(a[profile].iter().sum::<u32>(), 4);
            }
            // Equal-sized clusters per profile: n_pos and n_neg are exact.
            rs.tally_into(&a, &mut tally);
            assert_eq!((tally.total_pos(), tally.total_neg()), (12.0, 12.0));
            seen.insert(a.clone());
        }
        assert!(
            seen.len() > 45,
            "replicates should differ: {} distinct of 50",
            seen.len()
        );
        // Without stratification the profile counts vary.
        let free = Resampler::new(&ranked, &labels, &clusters, false, 42);
        let varies = (0..50).any(|r| {
            free.draw(r, &mut a);
            a[0..4].iter().sum::<u32>() != 4
        });
        assert!(varies);
    }
}
