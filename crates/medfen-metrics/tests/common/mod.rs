//! Simulated two-ear exams with known AUROC, shared by the statistical tests.
#![allow(dead_code)]

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Binormal scores for exams with two ears:
/// `score = mu * label + u_exam + e_ear`, `u ~ N(0, sigma_u²)`, `e ~ N(0, sigma_e²)`.
/// An exam is diseased with probability 1/2; its ears are then positive with
/// probability 0.7 (else 0.15), so labels are correlated within an exam too.
pub struct TwoEarSim {
    pub mu: f64,
    pub sigma_u: f64,
    pub sigma_e: f64,
}

pub struct Dataset {
    pub labels: Vec<bool>,
    pub scores: Vec<f64>,
    pub exams: Vec<u32>,
}

impl TwoEarSim {
    /// AUROC for a positive and a negative ear from different exams:
    /// Φ(mu / sqrt(2 (sigma_u² + sigma_e²))).
    pub fn true_auroc(&self) -> f64 {
        let sd = (2.0 * (self.sigma_u.powi(2) + self.sigma_e.powi(2))).sqrt();
        phi(self.mu / sd)
    }

    pub fn draw(&self, n_exams: usize, seed: u64) -> Dataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut d = Dataset {
            labels: Vec::new(),
            scores: Vec::new(),
            exams: Vec::new(),
        };
        for exam in 0..n_exams as u32 {
            let diseased = uniform(&mut rng) < 0.5;
            let u = self.sigma_u * normal(&mut rng);
            for _ in 0..2 {
                let label = uniform(&mut rng) < if diseased { 0.7 } else { 0.15 };
                let e = self.sigma_e * normal(&mut rng);
                d.labels.push(label);
                d.scores.push(self.mu * f64::from(u8::from(label)) + u + e);
                d.exams.push(exam);
            }
        }
        d
    }
}

/// Two-ear exams of patients of whom a share came back for a second exam:
/// `score = mu * label + u_patient + v_exam + e_ear`. A patient is diseased with
/// probability 1/2 (ears then positive with probability 0.7, else 0.15) in every exam,
/// so a patient's exams are correlated through both the label and `u`.
pub struct RepeatPatientSim {
    pub mu: f64,
    pub sigma_patient: f64,
    pub sigma_exam: f64,
    pub sigma_ear: f64,
    /// Share of patients with two exams (the rest have one).
    pub repeat_share: f64,
}

pub struct PatientDataset {
    pub labels: Vec<bool>,
    pub scores: Vec<f64>,
    pub exams: Vec<u32>,
    pub patients: Vec<u32>,
}

impl RepeatPatientSim {
    /// AUROC for a positive and a negative ear of different patients.
    pub fn true_auroc(&self) -> f64 {
        let var = self.sigma_patient.powi(2) + self.sigma_exam.powi(2) + self.sigma_ear.powi(2);
        phi(self.mu / (2.0 * var).sqrt())
    }

    pub fn draw(&self, n_patients: usize, seed: u64) -> PatientDataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut d = PatientDataset {
            labels: Vec::new(),
            scores: Vec::new(),
            exams: Vec::new(),
            patients: Vec::new(),
        };
        let mut exam = 0u32;
        for patient in 0..n_patients as u32 {
            let diseased = uniform(&mut rng) < 0.5;
            let u = self.sigma_patient * normal(&mut rng);
            let n_exams = if uniform(&mut rng) < self.repeat_share {
                2
            } else {
                1
            };
            for _ in 0..n_exams {
                let v = self.sigma_exam * normal(&mut rng);
                for _ in 0..2 {
                    let label = uniform(&mut rng) < if diseased { 0.7 } else { 0.15 };
                    let e = self.sigma_ear * normal(&mut rng);
                    d.labels.push(label);
                    d.scores
                        .push(self.mu * f64::from(u8::from(label)) + u + v + e);
                    d.exams.push(exam);
                    d.patients.push(patient);
                }
                exam += 1;
            }
        }
        d
    }
}

pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal by Box-Muller.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = uniform(rng).max(f64::MIN_POSITIVE);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Φ via erfc (Abramowitz-Stegun 7.1.26 is too coarse; use the continued series).
pub fn phi(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes erfcc: fractional error < 1.2e-7, plenty for a known-truth target.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Sample standard deviation.
pub fn std_dev(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}
