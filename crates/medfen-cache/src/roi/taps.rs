//! Bilinear taps along one axis: the two source samples around an output coordinate
//! and the weight of the second. Both the crop (`crop`) and the sampling grid
//! (`sample`) use them.

/// Bilinear taps of one output coordinate: the two source indices (None outside the
/// image) and the weight of the second.
#[derive(Clone, Copy)]
pub(super) struct Taps {
    pub(super) i0: Option<usize>,
    pub(super) i1: Option<usize>,
    pub(super) f: f32,
}

pub(super) fn taps(p: f64, n: usize) -> Taps {
    let base = p.floor();
    let at = |i: f64| (i >= 0.0 && i < n as f64).then_some(i as usize);
    Taps {
        i0: at(base),
        i1: at(base + 1.0),
        f: (p - base) as f32,
    }
}
