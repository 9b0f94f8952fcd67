//! What extraction reads a volume through: its geometry and its planes, from a fully
//! decoded [`Volume`] or from [`LazySlices`], which hold only the slices decoded.

use std::ops::Range;

use medfen_dicom::Volume;

/// Slot of a slice that was never loaded.
const NO_SLOT: u32 = u32::MAX;

/// A volume's slices decoded on demand (for [`super::extract_ears_lazy`]): the
/// volume's geometry, and a compact buffer with one slot per slice loaded. The buffer
/// is meant to be reused from volume to volume ([`Self::into_buffer`]): its pages stay
/// mapped, and a slot keeps what it held until the loader overwrites it (extraction
/// reads only what it asked to load).
#[derive(Debug)]
pub struct LazySlices {
    /// Shape, spacing, origin and direction (its data is empty).
    meta: Volume<i16>,
    /// Per slice: its slot in `data`, or [`NO_SLOT`].
    slot_of: Vec<u32>,
    /// Per slice: the rows loaded (one range: what was asked for grows as a hull).
    loaded: Vec<Range<usize>>,
    /// Slots of `ny * nx` values; as long as the most slots ever used with it.
    data: Vec<i16>,
    /// Slots given out.
    used: usize,
}

impl LazySlices {
    /// Slices of a volume with `geometry`'s shape and placement (its data is dropped),
    /// stored in `buffer` (any contents; grown as needed).
    pub fn new(mut geometry: Volume<i16>, buffer: Vec<i16>) -> Self {
        geometry.data = Vec::new();
        Self {
            slot_of: vec![NO_SLOT; geometry.shape[0]],
            loaded: vec![0..0; geometry.shape[0]],
            meta: geometry,
            data: buffer,
            used: 0,
        }
    }

    /// `[slices, rows, columns]`.
    pub fn shape(&self) -> [usize; 3] {
        self.meta.shape
    }

    /// The rows of slice `z` to load so that `rows` are loaded: `None` when they
    /// already are, else the hull of `rows` and what was loaded before (one range).
    ///
    /// # Panics
    /// When `z` is not a slice of the volume.
    pub fn missing(&self, z: usize, rows: Range<usize>) -> Option<Range<usize>> {
        let have = &self.loaded[z];
        if rows.is_empty() || (have.start <= rows.start && rows.end <= have.end) {
            return None;
        }
        Some(hull(have, rows))
    }

    /// Rows `rows` of slice `z`, to write (rows of columns), from then on counted as
    /// loaded. A slice's first use gives it a slot, holding whatever the buffer held.
    ///
    /// # Panics
    /// When `z` is not a slice of the volume or `rows` not rows of it.
    pub fn rows_mut(&mut self, z: usize, rows: Range<usize>) -> &mut [i16] {
        let nx = self.meta.shape[2];
        self.loaded[z] = hull(&self.loaded[z], rows.clone());
        &mut self.plane_mut(z)[rows.start * nx..rows.end * nx]
    }

    /// The plane of slice `z`, to write (rows of columns). Its first use gives it a
    /// slot, holding whatever the buffer held there.
    fn plane_mut(&mut self, z: usize) -> &mut [i16] {
        let plane = self.meta.shape[1] * self.meta.shape[2];
        if self.slot_of[z] == NO_SLOT {
            let slot = self.used;
            self.used += 1;
            if self.data.len() < self.used * plane {
                self.reserve_slots(2 * self.used);
            }
            self.slot_of[z] = u32::try_from(slot).expect("fewer slices than 2^32");
        }
        let at = self.slot_of[z] as usize * plane;
        &mut self.data[at..at + plane]
    }

    /// Makes room for `slots` slices (at most the volume's) without moving the ones
    /// loaded again later: a fresh zeroed allocation, whose pages the kernel maps only
    /// when a slice is written there, with the slots in use copied over.
    pub fn reserve_slots(&mut self, slots: usize) {
        let plane = self.meta.shape[1] * self.meta.shape[2];
        let want = slots.min(self.meta.shape[0]).max(self.used) * plane;
        if self.data.len() < want {
            let mut fresh = vec![0; want];
            let kept = self.used * plane;
            fresh[..kept].copy_from_slice(&self.data[..kept]);
            self.data = fresh;
        }
    }

    /// The buffer, to reuse for the next volume.
    pub fn into_buffer(self) -> Vec<i16> {
        self.data
    }
}

/// The smallest range holding `have` (possibly empty) and `rows`.
fn hull(have: &Range<usize>, rows: Range<usize>) -> Range<usize> {
    if have.start >= have.end {
        rows
    } else {
        have.start.min(rows.start)..have.end.max(rows.end)
    }
}

/// A volume as extraction reads it.
pub(super) struct Geometry<'a> {
    /// Shape, spacing, origin and direction (its data is not read here).
    pub(super) v: &'a Volume<i16>,
    planes: &'a [i16],
    /// Slot of each slice in `planes` (None: slice `z` is plane `z`).
    slot_of: Option<&'a [u32]>,
    pub(super) nz: usize,
    pub(super) ny: usize,
    pub(super) nx: usize,
}

impl<'a> Geometry<'a> {
    /// A fully decoded volume.
    pub(super) fn new(v: &'a Volume<i16>) -> Self {
        Self {
            v,
            planes: &v.data,
            slot_of: None,
            nz: v.shape[0],
            ny: v.shape[1],
            nx: v.shape[2],
        }
    }

    /// The slices loaded so far.
    pub(super) fn lazy(s: &'a LazySlices) -> Self {
        Self {
            v: &s.meta,
            planes: &s.data,
            slot_of: Some(&s.slot_of),
            nz: s.meta.shape[0],
            ny: s.meta.shape[1],
            nx: s.meta.shape[2],
        }
    }

    /// Slice `z` (rows of columns).
    ///
    /// # Panics
    /// When slice `z` was never loaded (a lazy volume).
    pub(super) fn plane(&self, z: usize) -> &'a [i16] {
        let n = self.ny * self.nx;
        let k = self.slot_of.map_or(z, |s| s[z] as usize);
        &self.planes[k * n..(k + 1) * n]
    }

    /// LPS position of a (fractional) voxel.
    pub(super) fn position(&self, z: f64, y: f64, x: f64) -> [f64; 3] {
        let d = &self.v.direction;
        let s = self.v.spacing;
        std::array::from_fn(|a| {
            self.v.origin[a] + z * s[0] * d[0][a] + y * s[1] * d[1][a] + x * s[2] * d[2][a]
        })
    }
}
