//! The temporal-bone phantom: a head with skull and sinuses, two temporal bones with
//! the external auditory canal, middle-ear cavity, attic, antrum, mastoid air cells,
//! ossicles and inner ear, and the lesion of each diagnosis code.
//!
//! Anatomy is laid out in head space (mm; +x towards the patient's left, +y posterior,
//! +z superior; the origin between the two ear canals) and placed in the scanner by a
//! [`Pose`]. The patient's left ear is at +x, so a pipeline that swaps sides, orders
//! slices wrongly or crops beside the ear sees the wrong ear, upside down, or nothing.

use crate::config::DifficultyKnobs;
use crate::random::Stream;
use crate::shapes::{Aabb, Condition, Ellipsoid, Mat3, Paint, PlaneGrid, Pose, V3, paint_plane};

/// Hounsfield values of the tissues.
pub(crate) mod hu {
    pub const AIR: f32 = -1000.0;
    pub const SCALP: f32 = 30.0;
    pub const SKULL: f32 = 1250.0;
    pub const BRAIN: f32 = 35.0;
    pub const PETROUS: f32 = 1650.0;
    pub const MASTOID_BONE: f32 = 1300.0;
    pub const OSSICLE: f32 = 1400.0;
    pub const LABYRINTH_FLUID: f32 = 10.0;
    pub const MEMBRANE: f32 = 40.0;
    pub const EFFUSION: f32 = 15.0;
    pub const MUCOSA: f32 = 45.0;
    pub const CHOLESTEATOMA: f32 = 38.0;
    pub const GRANULOMA: f32 = 72.0;
    pub const REMODELLED_RIM: f32 = 1350.0;
}

/// The patient's side of an ear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The patient's left (+x in LPS).
    Left,
    /// The patient's right.
    Right,
}

impl Side {
    /// Both sides, left first.
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    /// +1 for left, -1 for right: the sign of x in head space.
    pub fn sign(self) -> f64 {
        match self {
            Self::Left => 1.0,
            Self::Right => -1.0,
        }
    }

    /// `"left"` or `"right"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Left => 0,
            Self::Right => 1,
        }
    }
}

/// What a patient's head looks like, the same in every exam of the patient.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Anatomy {
    head_semi: V3,
    /// Pneumatisation of each mastoid (0.5 poor .. 1.2 extensive), left then right.
    pneumatisation: [f64; 2],
    /// Mastoid air cells per side (head-space centre with x for the left side, radius).
    cells: [Vec<(V3, f64)>; 2],
    /// Small per-side offsets of the whole ear (ears are not perfect mirrors).
    ear_offset: [V3; 2],
}

/// Mastoid region (left side): centre and semi-axes.
const MASTOID: (V3, V3) = ([54.0, 20.0, 2.0], [7.0, 9.0, 11.0]);
/// Middle-ear structures (left side): centre and semi-axes.
const CAVITY: (V3, V3) = ([40.0, 1.0, 0.0], [3.0, 6.0, 6.5]);
const ATTIC: (V3, V3) = ([41.5, 3.0, 7.0], [3.5, 4.5, 3.0]);
const ANTRUM: (V3, V3) = ([46.0, 10.0, 5.0], [3.5, 5.0, 3.5]);
/// The region every ear's truth box covers (left side), min and max.
const EAR_BOX: (V3, V3) = ([35.0, -6.0, -10.0], [63.0, 31.0, 14.0]);

impl Anatomy {
    pub fn new(stream: &mut Stream) -> Self {
        let head_semi = [
            76.0 + stream.symmetric(3.0),
            96.0 + stream.symmetric(4.0),
            100.0 + stream.symmetric(4.0),
        ];
        let base = stream.uniform(0.6, 1.15);
        let pneumatisation = [
            (base + stream.symmetric(0.05)).clamp(0.5, 1.2),
            (base + stream.symmetric(0.05)).clamp(0.5, 1.2),
        ];
        // Pneumatisation is largely symmetric in one patient: both mastoids share the
        // cell layout (mirrored), with a slightly different extent per side.
        let n = (44.0 * base.min(1.0)).round() as usize;
        let layout: Vec<(V3, f64)> = (0..n)
            .map(|_| {
                // uniform in the unit ball (rejection), scaled into the region
                let u = loop {
                    let u = [
                        stream.symmetric(1.0),
                        stream.symmetric(1.0),
                        stream.symmetric(1.0),
                    ];
                    if u.iter().map(|v| v * v).sum::<f64>() <= 1.0 {
                        break u;
                    }
                };
                let c = std::array::from_fn(|a| MASTOID.0[a] + 0.82 * u[a] * MASTOID.1[a]);
                (c, stream.uniform(1.2, 3.0))
            })
            .collect();
        let cells = [0, 1].map(|side| {
            let scale = 0.6 + 0.4 * pneumatisation[side];
            layout.iter().map(|&(c, r)| (c, r * scale)).collect()
        });
        let ear_offset = [0, 1].map(|_| {
            [
                stream.symmetric(1.0),
                stream.symmetric(1.0),
                stream.symmetric(0.8),
            ]
        });
        Self {
            head_semi,
            pneumatisation,
            cells,
            ear_offset,
        }
    }
}

/// A normal ear's benign variant that resembles disease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalVariant {
    /// A few mastoid cells hold fluid.
    MastoidFluid,
    /// The mastoid is poorly pneumatised (few, small cells).
    PoorPneumatisation,
}

impl NormalVariant {
    /// Name in the truth table.
    pub fn name(self) -> &'static str {
        match self {
            Self::MastoidFluid => "mastoid_fluid",
            Self::PoorPneumatisation => "poor_pneumatisation",
        }
    }
}

/// What the truth table says about one ear.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EarTruth {
    pub side: Side,
    pub code: u8,
    /// Lesion name (None for normal ears).
    pub lesion: Option<&'static str>,
    /// The lesion's box in patient space.
    pub lesion_box: Option<Aabb>,
    /// The same head-space box on the other ear.
    pub mirror_box: Option<Aabb>,
    /// The middle-ear and mastoid region of this ear.
    pub ear_box: Aabb,
    pub variant: Option<NormalVariant>,
}

/// One exam's phantom: layers to paint and the truth of both ears.
pub(crate) struct Scene {
    layers: Vec<Paint>,
    pub pose: Pose,
    pub ears: [EarTruth; 2],
}

/// Mirrors a left-side head point to `side`, adding the side's offset.
fn at(side: Side, p: V3, anatomy: &Anatomy) -> V3 {
    let o = anatomy.ear_offset[side.index()];
    [side.sign() * p[0] + o[0], p[1] + o[1], p[2] + o[2]]
}

fn head_box(side: Side, min: V3, max: V3, anatomy: &Anatomy) -> (V3, V3) {
    let a = at(side, min, anatomy);
    let b = at(side, max, anatomy);
    (
        std::array::from_fn(|i| a[i].min(b[i])),
        std::array::from_fn(|i| a[i].max(b[i])),
    )
}

fn union(boxes: &[(V3, V3)]) -> (V3, V3) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (a, b) in boxes {
        for i in 0..3 {
            lo[i] = lo[i].min(a[i]);
            hi[i] = hi[i].max(b[i]);
        }
    }
    (lo, hi)
}

fn ellipsoid_box(c: V3, semi: V3) -> (V3, V3) {
    (
        std::array::from_fn(|i| c[i] - semi[i]),
        std::array::from_fn(|i| c[i] + semi[i]),
    )
}

impl Scene {
    /// The phantom of one exam: `codes[side]` per ear (left, right).
    pub fn new(
        anatomy: &Anatomy,
        codes: [u8; 2],
        pose: Pose,
        knobs: &DifficultyKnobs,
        stream: &mut Stream,
    ) -> Self {
        let mut layers = Vec::with_capacity(256);
        let e = |c: V3, s: V3| Ellipsoid::aligned(c, s, &pose);
        // Head: scalp, skull, brain; sinuses and nasal cavity in front.
        let hs = anatomy.head_semi;
        let hc = [0.0, 5.0, 20.0];
        layers.push(Paint::new(e(hc, hs), hu::SCALP));
        layers.push(Paint::new(e(hc, hs.map(|a| a - 6.0)), hu::SKULL));
        layers.push(Paint::new(e(hc, hs.map(|a| a - 12.0)), hu::BRAIN));
        for (c, s) in [
            ([0.0, -38.0, 5.0], [11.0, 9.0, 9.0]),
            ([0.0, -80.0, -15.0], [13.0, 16.0, 20.0]),
            ([28.0, -62.0, -28.0], [13.0, 14.0, 14.0]),
            ([-28.0, -62.0, -28.0], [13.0, 14.0, 14.0]),
        ] {
            layers.push(Paint::new(e(c, s.map(|a| a + 2.0)), hu::SKULL));
            layers.push(Paint::new(e(c, s), hu::AIR));
        }

        let mut ears = Vec::with_capacity(2);
        let variant_roll: [f64; 2] = [stream.unit(), stream.unit()];
        for side in Side::BOTH {
            let code = codes[side.index()];
            let variant = if code == 5 && variant_roll[side.index()] < knobs.normal_variant {
                Some(if stream.chance(0.5) {
                    NormalVariant::MastoidFluid
                } else {
                    NormalVariant::PoorPneumatisation
                })
            } else {
                None
            };
            Self::ear(&mut layers, anatomy, side, variant, &pose);
            let (lesion, head_lesion_box) =
                Self::lesion(&mut layers, anatomy, side, code, knobs, &pose, stream);
            if variant == Some(NormalVariant::MastoidFluid) {
                let cells = &anatomy.cells[side.index()];
                for _ in 0..3.min(cells.len()) {
                    let (c, r) = *stream.pick(cells);
                    layers.push(
                        Paint::new(e(at(side, c, anatomy), [r; 3]), hu::EFFUSION)
                            .when(Condition::AirOnly),
                    );
                }
            }
            let (bmin, bmax) = head_box(side, EAR_BOX.0, EAR_BOX.1, anatomy);
            let ear_box = Aabb::of_head_box(bmin, bmax, &pose);
            let (lesion_box, mirror_box) = match head_lesion_box {
                Some((lo, hi)) => {
                    // the same box on the other ear: mirror x about the midline
                    let mlo = [-hi[0], lo[1], lo[2]];
                    let mhi = [-lo[0], hi[1], hi[2]];
                    (
                        Some(Aabb::of_head_box(lo, hi, &pose)),
                        Some(Aabb::of_head_box(mlo, mhi, &pose)),
                    )
                }
                None => (None, None),
            };
            ears.push(EarTruth {
                side,
                code,
                lesion,
                lesion_box,
                mirror_box,
                ear_box,
                variant,
            });
        }
        let [left, right]: [EarTruth; 2] = ears.try_into().expect("two ears");
        Self {
            layers,
            pose,
            ears: [left, right],
        }
    }

    /// The aerated ear of `side`.
    fn ear(
        layers: &mut Vec<Paint>,
        anatomy: &Anatomy,
        side: Side,
        variant: Option<NormalVariant>,
        pose: &Pose,
    ) {
        let s = side.sign();
        let put = |layers: &mut Vec<Paint>, c: V3, semi: V3, value: f32| {
            layers.push(Paint::new(
                Ellipsoid::aligned(at(side, c, anatomy), semi, pose),
                value,
            ));
        };
        // Petrous bone along its anteromedial axis, then the mastoid/squamous block.
        layers.push(Paint::new(
            Ellipsoid::new(
                at(side, [40.0, 5.0, 0.0], anatomy),
                [12.0, 30.0, 14.0],
                Mat3::rotation_deg(0.0, 0.0, -s * 37.0),
                pose,
            ),
            hu::PETROUS,
        ));
        put(
            layers,
            [55.0, 12.0, 0.0],
            [10.0, 22.0, 18.0],
            hu::MASTOID_BONE,
        );
        // Inner ear and internal auditory canal.
        put(
            layers,
            [31.0, -3.0, -2.0],
            [3.5, 3.5, 2.5],
            hu::LABYRINTH_FLUID,
        );
        put(
            layers,
            [34.5, 5.0, 1.0],
            [2.0, 2.5, 2.5],
            hu::LABYRINTH_FLUID,
        );
        put(
            layers,
            [24.0, 2.0, 0.0],
            [7.0, 2.3, 2.3],
            hu::LABYRINTH_FLUID,
        );
        // Mastoid air cells (few and small for a poorly pneumatised variant).
        let poor = variant == Some(NormalVariant::PoorPneumatisation);
        for (k, &(c, r)) in anatomy.cells[side.index()].iter().enumerate() {
            if poor && k % 3 != 0 {
                continue;
            }
            let r = if poor { r * 0.7 } else { r };
            put(layers, c, [r; 3], hu::AIR);
        }
        // External canal, tympanic membrane, cavity, attic, antrum.
        put(layers, [59.0, 1.0, -1.0], [15.0, 3.8, 4.2], hu::AIR);
        put(layers, [43.6, 1.0, -1.0], [0.6, 4.0, 4.5], hu::MEMBRANE);
        put(layers, CAVITY.0, CAVITY.1, hu::AIR);
        put(layers, ATTIC.0, ATTIC.1, hu::AIR);
        put(layers, ANTRUM.0, ANTRUM.1, hu::AIR);
        // Ossicles: malleus head and handle, incus body and long process, stapes.
        put(layers, [42.0, 2.5, 7.5], [1.5; 3], hu::OSSICLE);
        put(layers, [41.0, 5.0, 7.2], [1.4; 3], hu::OSSICLE);
        put(layers, [42.3, 1.5, 2.5], [0.5, 0.6, 3.5], hu::OSSICLE);
        put(layers, [40.8, 5.0, 2.8], [0.5, 0.5, 3.0], hu::OSSICLE);
        put(layers, [38.6, 5.0, 0.5], [1.5, 0.5, 0.5], hu::OSSICLE);
    }

    /// Paints the lesion of `code` on `side`; returns its name and head-space box.
    fn lesion(
        layers: &mut Vec<Paint>,
        anatomy: &Anatomy,
        side: Side,
        code: u8,
        knobs: &DifficultyKnobs,
        pose: &Pose,
        stream: &mut Stream,
    ) -> (Option<&'static str>, Option<(V3, V3)>) {
        let size = knobs.lesion_size * stream.uniform(0.85, 1.15);
        let mut p = LesionPainter {
            layers,
            anatomy,
            side,
            pose,
            stream,
            size,
            contrast: knobs.lesion_contrast,
        };
        match code {
            3 => p.effusion(),
            1 => p.csom(),
            2 => p.cholesteatoma(),
            4 => p.granuloma(),
            6 => p.other(),
            _ => (None, None),
        }
    }

    /// Paints the phantom (no noise, no blur) into a plane.
    pub fn render(&self, grid: &PlaneGrid, out: &mut [f32]) {
        out.fill(hu::AIR);
        paint_plane(&self.layers, grid, out);
    }
}

/// Paints one ear's lesion: the layers so far, where the ear is, and the lesion's
/// size and contrast.
struct LesionPainter<'a> {
    layers: &'a mut Vec<Paint>,
    anatomy: &'a Anatomy,
    side: Side,
    pose: &'a Pose,
    stream: &'a mut Stream,
    size: f64,
    contrast: f64,
}

/// A lesion's name and its box in head space.
type Painted = (Option<&'static str>, Option<(V3, V3)>);

/// The middle-ear air spaces: cavity, attic and antrum.
const AIR_SPACES: [(V3, V3); 3] = [CAVITY, ATTIC, ANTRUM];

impl<'a> LesionPainter<'a> {
    /// An axis-aligned ellipsoid at ear coordinates `c` with semi-axes `semi`.
    fn e(&self, c: V3, semi: V3) -> Ellipsoid {
        Ellipsoid::aligned(at(self.side, c, self.anatomy), semi, self.pose)
    }

    /// The ear's mastoid cells (centre, radius).
    fn cells(&self) -> &'a [(V3, f64)] {
        &self.anatomy.cells[self.side.index()]
    }

    /// Effusion: fluid fills the dependent (posterior in a supine patient) part of the
    /// middle ear and mastoid, below a horizontal air-fluid level.
    fn effusion(&mut self) -> Painted {
        let (lo, hi) = union(
            &AIR_SPACES
                .iter()
                .map(|(c, s)| ellipsoid_box(*c, *s))
                .chain([ellipsoid_box(MASTOID.0, MASTOID.1)])
                .collect::<Vec<_>>(),
        );
        let fill = (0.3 + 0.6 * self.contrast) * self.stream.uniform(0.92, 1.05);
        let level_y = hi[1] - fill.min(1.0) * (hi[1] - lo[1]);
        let level = self
            .pose
            .to_world(at(self.side, [45.0, level_y, 0.0], self.anatomy));
        let down = [0.0, 1.0, 0.0]; // gravity: +y in the scanner (supine)
        for (c, semi) in AIR_SPACES {
            self.layers.push(
                Paint::new(self.e(c, semi), hu::EFFUSION)
                    .when(Condition::AirOnly)
                    .clipped(level, down),
            );
        }
        for &(c, r) in self.cells() {
            self.layers.push(
                Paint::new(self.e(c, [r; 3]), hu::EFFUSION)
                    .when(Condition::AirOnly)
                    .clipped(level, down),
            );
        }
        let (lo, hi) = head_box(self.side, [lo[0], level_y, lo[2]], hi, self.anatomy);
        (Some("effusion"), Some((lo, hi)))
    }

    /// Chronic suppurative otitis media: thickened mucosa lining the cavity, attic and
    /// antrum, a patch of soft-tissue opacification, and a sclerotic mastoid (cells
    /// replaced by bone).
    fn csom(&mut self) -> Painted {
        let t = (0.8 + 1.6 * self.contrast) * self.size;
        for (c, semi) in AIR_SPACES {
            self.layers
                .push(Paint::new(self.e(c, semi), hu::MUCOSA).when(Condition::AirOnly));
            let inner = semi.map(|a| (a - t).max(0.4));
            self.layers
                .push(Paint::new(self.e(c, inner), hu::AIR).when(Condition::SoftOnly));
        }
        let blob = [ANTRUM.0[0] - 1.0, ANTRUM.0[1] - 2.0, ANTRUM.0[2]];
        self.layers.push(
            Paint::new(self.e(blob, [2.5 * self.size + 1.0; 3]), hu::MUCOSA)
                .when(Condition::AirOnly),
        );
        let sclerotic = 0.35 + 0.55 * self.contrast;
        for &(c, r) in self.cells() {
            if self.stream.chance(sclerotic) {
                self.layers
                    .push(Paint::new(self.e(c, [r; 3]), hu::MASTOID_BONE));
            }
        }
        let (lo, hi) = union(&[
            ellipsoid_box(CAVITY.0, CAVITY.1),
            ellipsoid_box(ATTIC.0, ATTIC.1),
            ellipsoid_box(ANTRUM.0, ANTRUM.1),
            ellipsoid_box(MASTOID.0, MASTOID.1),
        ]);
        (
            Some("csom"),
            Some(head_box(self.side, lo, hi, self.anatomy)),
        )
    }

    /// Cholesteatoma: a soft-tissue mass from the attic into the antrum that fills the
    /// air spaces it reaches and erodes what it presses on (the ossicles and the
    /// scutum).
    fn cholesteatoma(&mut self) -> Painted {
        let c = [42.5, 5.5, 6.0];
        let semi = [4.5, 6.5, 4.5].map(|a| a * self.size);
        self.layers.push(
            Paint::new(
                Ellipsoid::new(
                    at(self.side, c, self.anatomy),
                    semi,
                    Mat3::rotation_deg(0.0, 0.0, -self.side.sign() * 20.0),
                    self.pose,
                ),
                hu::CHOLESTEATOMA,
            )
            .when(Condition::AirOnly),
        );
        self.layers.push(Paint::new(
            self.e([41.8, 3.6, 6.6], [2.0, 2.4, 2.0].map(|a| a * self.size)),
            hu::CHOLESTEATOMA,
        ));
        let r = semi[0].max(semi[1]);
        let (lo, hi) = ellipsoid_box(c, [r, r, semi[2]]);
        (
            Some("cholesteatoma"),
            Some(head_box(self.side, lo, hi, self.anatomy)),
        )
    }

    /// Cholesterol granuloma: a mass of slightly higher density than cholesteatoma
    /// filling the antrum and mastoid cells, with an expansile core that has remodelled
    /// the bone around it into a smooth rim.
    fn granuloma(&mut self) -> Painted {
        let c = [45.5, 8.0, 4.5];
        let semi = [5.0, 6.0, 5.5].map(|a| a * self.size);
        self.layers
            .push(Paint::new(self.e(c, semi), hu::GRANULOMA).when(Condition::AirOnly));
        let core = semi.map(|a| a * 0.3);
        self.layers.push(Paint::new(
            self.e(c, core.map(|a| a + 0.8)),
            hu::REMODELLED_RIM,
        ));
        self.layers.push(Paint::new(self.e(c, core), hu::GRANULOMA));
        let (lo, hi) = ellipsoid_box(c, semi);
        (
            Some("cholesterol_granuloma"),
            Some(head_box(self.side, lo, hi, self.anatomy)),
        )
    }

    /// Other: mild mixed findings, a small soft-tissue focus and thin mucosa.
    fn other(&mut self) -> Painted {
        let t = 0.4 + 0.4 * self.contrast;
        let (c, semi) = CAVITY;
        self.layers
            .push(Paint::new(self.e(c, semi), hu::MUCOSA).when(Condition::AirOnly));
        self.layers
            .push(Paint::new(self.e(c, semi.map(|a| a - t)), hu::AIR).when(Condition::SoftOnly));
        let focus = [c[0] + 0.5, c[1] + 2.0, c[2] - 1.5];
        self.layers.push(
            Paint::new(
                self.e(focus, [1.5 + 1.8 * self.size * self.contrast; 3]),
                hu::MUCOSA,
            )
            .when(Condition::AirOnly),
        );
        let (lo, hi) = ellipsoid_box(c, semi);
        (
            Some("other"),
            Some(head_box(self.side, lo, hi, self.anatomy)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Difficulty;

    fn identity_pose() -> Pose {
        Pose {
            rotation: Mat3::IDENTITY,
            translation: [0.0, 0.0, 0.0],
        }
    }

    fn axial(z: f64) -> (PlaneGrid, Vec<f32>) {
        let grid = PlaneGrid {
            origin: [-100.0, -100.0, z],
            dx: 0.5,
            row_step: [0.0, 0.5, 0.0],
            rows: 401,
            cols: 401,
        };
        (grid, vec![0.0; 401 * 401])
    }

    fn value(grid: &PlaneGrid, img: &[f32], x: f64, y: f64) -> f32 {
        let c = ((x - grid.origin[0]) / grid.dx).round() as usize;
        let r = ((y - grid.origin[1]) / grid.row_step[1]).round() as usize;
        img[r * grid.cols + c]
    }

    #[test]
    fn the_left_ear_is_at_positive_x_and_lesions_go_where_the_codes_say() {
        let mut s = Stream::new(1, "anatomy", 0);
        let anatomy = Anatomy::new(&mut s);
        let knobs = Difficulty::Easy.knobs();
        // left cholesteatoma, right normal
        let scene = Scene::new(&anatomy, [2, 5], identity_pose(), &knobs, &mut s);
        let (grid, mut img) = axial(6.0);
        scene.render(&grid, &mut img);
        let off_l = anatomy.ear_offset[0];
        let off_r = anatomy.ear_offset[1];
        // attic centre (41.5, 3, 7) on each side: mass on the left, air on the right
        let left = value(&grid, &img, 42.0 + off_l[0], 5.0 + off_l[1]);
        let right = value(&grid, &img, -41.5 + off_r[0], 3.0 + off_r[1]);
        assert_eq!(left, hu::CHOLESTEATOMA);
        assert_eq!(right, hu::AIR);
        assert_eq!(scene.ears[0].lesion, Some("cholesteatoma"));
        assert!(scene.ears[0].lesion_box.unwrap().centre()[0] > 30.0);
        assert!(scene.ears[0].mirror_box.unwrap().centre()[0] < -30.0);
        assert!(scene.ears[1].lesion.is_none());
        // outside the head is air, the brain is soft tissue
        assert_eq!(value(&grid, &img, 0.0, -99.0), hu::AIR);
        assert_eq!(value(&grid, &img, 0.0, 30.0), hu::BRAIN);
    }

    #[test]
    fn effusion_fills_the_posterior_part_below_a_level() {
        let mut s = Stream::new(2, "anatomy", 0);
        let anatomy = Anatomy::new(&mut s);
        let knobs = Difficulty::Medium.knobs();
        let scene = Scene::new(&anatomy, [5, 3], identity_pose(), &knobs, &mut s);
        let (grid, mut img) = axial(0.0);
        scene.render(&grid, &mut img);
        let o = anatomy.ear_offset[1];
        // right cavity spans y -5..7: posterior end filled, anterior end aerated
        let posterior = value(&grid, &img, -40.0 + o[0], 6.0 + o[1]);
        let anterior = value(&grid, &img, -40.0 + o[0], -4.0 + o[1]);
        assert_eq!(posterior, hu::EFFUSION);
        assert_eq!(anterior, hu::AIR);
    }
}
