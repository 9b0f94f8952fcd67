//! Which samples belong together (the ears of one exam, the exams of one patient).

use std::collections::HashMap;
use std::hash::Hash;

/// The resampling unit of each sample.
///
/// A bootstrap replicate draws clusters, not samples, with replacement; a cluster drawn
/// twice contributes all its samples twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusters {
    of_sample: Vec<u32>,
    count: usize,
}

impl Clusters {
    /// Clusters from one id per sample (exam id, patient key, ...). Cluster numbers are
    /// assigned in order of first appearance, so they are deterministic.
    ///
    /// # Panics
    /// With more than 2^32 - 1 distinct clusters.
    pub fn from_ids<T: Hash + Eq>(ids: &[T]) -> Self {
        let mut index: HashMap<&T, u32> = HashMap::with_capacity(ids.len());
        let of_sample = ids
            .iter()
            .map(|id| {
                let next = u32::try_from(index.len()).expect("more than 2^32 - 1 clusters");
                *index.entry(id).or_insert(next)
            })
            .collect();
        Self {
            of_sample,
            count: index.len(),
        }
    }

    /// Every sample its own cluster (the ordinary, unclustered bootstrap).
    ///
    /// # Panics
    /// With more than 2^32 - 1 samples.
    pub fn singletons(n: usize) -> Self {
        let n32 = u32::try_from(n).expect("more than 2^32 - 1 samples");
        Self {
            of_sample: (0..n32).collect(),
            count: n,
        }
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.count
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.of_sample.len()
    }

    /// The cluster of sample `i`.
    pub fn cluster_of(&self, i: usize) -> usize {
        self.of_sample[i] as usize
    }

    /// Sample indices of each cluster.
    pub(crate) fn members(&self) -> Vec<Vec<u32>> {
        let mut members = vec![Vec::new(); self.count];
        for (i, &c) in self.of_sample.iter().enumerate() {
            members[c as usize].push(i as u32);
        }
        members
    }
}

#[cfg(test)]
mod tests {
    use super::Clusters;

    #[test]
    fn first_appearance_order() {
        let c = Clusters::from_ids(&["b", "a", "b", "c"]);
        assert_eq!(c.n_clusters(), 3);
        assert_eq!(
            (
                c.cluster_of(0),
                c.cluster_of(1),
                c.cluster_of(2),
                c.cluster_of(3)
            ),
            (0, 1, 0, 2)
        );
        assert_eq!(c.members(), vec![vec![0, 2], vec![1], vec![3]]);
        assert_eq!(Clusters::singletons(3).n_clusters(), 3);
    }
}
