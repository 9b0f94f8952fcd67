//! Scanner profiles: manufacturers, models, kernels and file conventions seen in the
//! real dataset (seed-ear-ct.md §8), weighted by how often they occur there.

/// How a scanner names the files of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileNaming {
    /// `<SOPInstanceUID>.dcm`.
    SopUid,
    /// `IM<5 digits>.dcm`, numbered in a shuffled order.
    ShuffledNumbers,
    /// `<8 hex digits>.dcm`, random.
    Hex,
}

/// One CT model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScannerProfile {
    pub manufacturer: &'static str,
    pub model: &'static str,
    /// Ears in the real dataset (the sampling weight).
    pub weight: f64,
    /// Bone (sharp) kernels of this model.
    pub bone_kernels: &'static [&'static str],
    /// Soft-tissue kernels.
    pub soft_kernels: &'static [&'static str],
    /// Signed pixel representation with a padding value outside the reconstruction
    /// circle (GE style), else unsigned 12-bit with air outside.
    pub padded_signed: bool,
    pub naming: FileNaming,
    /// Noise relative to the difficulty's level.
    pub noise_factor: f64,
}

pub(crate) const SCANNERS: [ScannerProfile; 7] = [
    ScannerProfile {
        manufacturer: "SIEMENS",
        model: "Sensation 64",
        weight: 4793.0,
        bone_kernels: &["U75u", "U70u"],
        soft_kernels: &["B30s", "H30s"],
        padded_signed: false,
        naming: FileNaming::SopUid,
        noise_factor: 1.0,
    },
    ScannerProfile {
        manufacturer: "SIEMENS",
        model: "SOMATOM Force",
        weight: 1252.0,
        bone_kernels: &["Ur73u", "Hr68h"],
        soft_kernels: &["Br40d", "Hr40d"],
        padded_signed: false,
        naming: FileNaming::SopUid,
        noise_factor: 0.8,
    },
    ScannerProfile {
        manufacturer: "GE MEDICAL SYSTEMS",
        model: "Discovery CT750 HD",
        weight: 1024.0,
        bone_kernels: &["BONEPLUS2", "BONEPLUS"],
        soft_kernels: &["STANDARD", "SOFT"],
        padded_signed: true,
        naming: FileNaming::ShuffledNumbers,
        noise_factor: 1.1,
    },
    ScannerProfile {
        manufacturer: "GE MEDICAL SYSTEMS",
        model: "Revolution EVO",
        weight: 313.0,
        bone_kernels: &["BONEPLUS2", "BONE"],
        soft_kernels: &["STANDARD"],
        padded_signed: true,
        naming: FileNaming::ShuffledNumbers,
        noise_factor: 1.2,
    },
    ScannerProfile {
        manufacturer: "UIH",
        model: "uCT 780",
        weight: 270.0,
        bone_kernels: &["B_SHARP_C", "B_SHARP_B"],
        soft_kernels: &["B_SOFT_B"],
        padded_signed: false,
        naming: FileNaming::Hex,
        noise_factor: 1.15,
    },
    ScannerProfile {
        manufacturer: "Siemens",
        model: "SOMATOM go.Up",
        weight: 36.0,
        bone_kernels: &["Hr64h"],
        soft_kernels: &["Br40s"],
        padded_signed: false,
        naming: FileNaming::SopUid,
        noise_factor: 1.3,
    },
    ScannerProfile {
        manufacturer: "GE MEDICAL SYSTEMS",
        model: "Revolution CT",
        weight: 4.0,
        bone_kernels: &["BONEPLUS"],
        soft_kernels: &["STANDARD"],
        padded_signed: true,
        naming: FileNaming::ShuffledNumbers,
        noise_factor: 0.9,
    },
];

/// The sampling weights of [`SCANNERS`].
pub(crate) fn weights() -> Vec<f64> {
    SCANNERS.iter().map(|s| s.weight).collect()
}
