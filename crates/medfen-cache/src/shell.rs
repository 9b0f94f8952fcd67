//! The volume shell of lazily decoded exams: a zero-filled volume that extraction
//! fills slice by slice. Its buffer (tens of megabytes) is kept per thread and reused:
//! a fresh one costs a page fault, and a page cleared by the kernel, for every 4 KiB
//! a decoded slice touches. Only the slices the previous exam decoded are cleared again.

use std::cell::RefCell;

/// A thread's buffer: all zero except the slices in `dirty`.
#[derive(Default)]
struct Pool {
    data: Vec<i16>,
    dirty: Vec<std::ops::Range<usize>>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// `n` zeros: the thread's buffer when it has one, cleared where it was written.
fn zeroed(n: usize) -> Vec<i16> {
    POOL.with_borrow_mut(|pool| {
        if pool.data.is_empty() {
            pool.dirty.clear();
            return vec![0; n];
        }
        let mut data = std::mem::take(&mut pool.data);
        for range in pool.dirty.drain(..) {
            let end = range.end.min(data.len());
            if range.start < end {
                data[range.start..end].fill(0);
            }
        }
        data.resize(n, 0);
        data
    })
}

/// Returns a shell's buffer to the thread's pool; `loaded[z]` are the rows of slice
/// `z` (of `plane` values, rows of `cols`) that were written.
pub(crate) fn give_back(
    data: Vec<i16>,
    loaded: &[std::ops::Range<usize>],
    plane: usize,
    cols: usize,
) {
    POOL.with_borrow_mut(|pool| {
        pool.dirty = loaded
            .iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(z, rows)| z * plane + rows.start * cols..z * plane + rows.end * cols)
            .collect();
        pool.data = data;
    });
}

/// A zero-filled volume with the plan's geometry when the acquisition already is the
/// canonical frame (rows along +x, columns along +y, slices along +z): then slice `z`
/// of the plan is slice `z` of the volume and slices can be decoded one by one.
pub(crate) fn lazy_shell(plan: &medfen_dicom::VolumePlan) -> Option<medfen_dicom::Volume<i16>> {
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
    Some(medfen_dicom::Volume {
        data: zeroed(plan.slices.len() * plan.rows * plan.cols),
        shape: [plan.slices.len(), plan.rows, plan.cols],
        spacing: [sz, sy, sx],
        origin: plan.origin,
        direction: [dz, dy, dx],
        slice_axis: 0,
        sources: Vec::new(),
        qa: plan.qa.clone(),
    })
}
