//! The slices of lazily decoded exams ([`LazySlices`]), in a buffer kept per thread and
//! reused: a fresh one costs a page fault, and a page cleared by the kernel, for every
//! 4 KiB a decoded slice touches. The buffer holds only the slices decoded (compact
//! slots), so its pages are the same ones from exam to exam.

use std::cell::RefCell;

use crate::roi::LazySlices;

thread_local! {
    static POOL: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// Returns the buffer of `slices` to the thread's pool.
pub(crate) fn give_back(slices: LazySlices) {
    POOL.set(slices.into_buffer());
}

/// Lazily decoded slices with the plan's geometry when the acquisition already is the
/// canonical frame (rows along +x, columns along +y, slices along +z): then slice `z`
/// of the plan is slice `z` of the volume and slices can be decoded one by one.
pub(crate) fn lazy_slices(plan: &medfen_dicom::VolumePlan) -> Option<LazySlices> {
    let unit = |v: [f64; 3]| {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        (n, [v[0] / n, v[1] / n, v[2] / n])
    };
    let (sx, dx) = unit(plan.column_step);
    let (sy, dy) = unit(plan.row_step);
    let (sz, dz) = unit(plan.slice_step);
    let canonical = dx[0] > 0.999 && dy[1] > 0.999 && dz[2] > 0.999;
    if !canonical || plan.slices.is_empty() {
        return None;
    }
    let geometry = medfen_dicom::Volume {
        data: Vec::new(),
        shape: [plan.slices.len(), plan.rows, plan.cols],
        spacing: [sz, sy, sx],
        origin: plan.origin,
        direction: [dz, dy, dx],
        slice_axis: 0,
        sources: Vec::new(),
        qa: plan.qa.clone(),
    };
    Some(LazySlices::new(geometry, POOL.take()))
}
