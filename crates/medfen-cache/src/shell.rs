//! The volume shell of lazily decoded exams: a volume-sized buffer that extraction
//! fills with the slices (and rows) it reads. Its buffer (tens of megabytes) is kept per
//! thread and reused as it is: a fresh one costs a page fault, and a page cleared by the
//! kernel, for every 4 KiB a decoded slice touches, and clearing the previous exam's
//! slices costs about as much. Extraction reads only what it loaded (tested with a
//! buffer full of bone), so what the rest holds never reaches a record.

use std::cell::RefCell;

/// A thread's buffer; the first `initialized` values of the allocation at `address`
/// have been written (its length may be shorter: the last exam's volume).
#[derive(Default)]
struct Pool {
    data: Vec<i16>,
    initialized: usize,
    address: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// A buffer of `n` values: the thread's buffer, with whatever it holds; zeros past what
/// it ever held.
fn buffer(n: usize) -> Vec<i16> {
    POOL.with_borrow_mut(|pool| {
        let mut data = std::mem::take(&mut pool.data);
        let have = pool.initialized.min(data.capacity());
        if n <= have {
            // SAFETY: n <= capacity, and the first `have` values of this allocation
            // were initialised (zeroed when it was allocated; i16 has no invalid bit
            // patterns) and stay so: it is never reallocated.
            #[allow(unsafe_code)]
            unsafe {
                data.set_len(n);
            }
        } else {
            // A larger volume: a fresh zeroed allocation (pages the kernel maps on
            // first touch), not a copy of the old contents and a clear of the rest;
            // with room for a half larger one, which then costs no new page faults.
            drop(data);
            let room = n.saturating_add(n / 2);
            data = vec![0; room];
            data.truncate(n);
            pool.initialized = room;
        }
        pool.address = data.as_ptr() as usize;
        data
    })
}

/// Returns a shell's buffer to the thread's pool.
pub(crate) fn give_back(data: Vec<i16>) {
    POOL.with_borrow_mut(|pool| {
        // Another allocation than the one handed out: only its length is known written.
        pool.initialized = if data.as_ptr() as usize == pool.address {
            pool.initialized.max(data.len())
        } else {
            data.len()
        };
        pool.data = data;
    });
}

/// A volume buffer with the plan's geometry when the acquisition already is the
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
        data: buffer(plan.slices.len() * plan.rows * plan.cols),
        shape: [plan.slices.len(), plan.rows, plan.cols],
        spacing: [sz, sy, sx],
        origin: plan.origin,
        direction: [dz, dy, dx],
        slice_axis: 0,
        sources: Vec::new(),
        qa: plan.qa.clone(),
    })
}
