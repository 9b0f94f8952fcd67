//! Networks, training and evaluation for medfen, on libtorch through tch.
//!
//! This is the only medfen library that links libtorch (2.13.0, provisioned by
//! `cargo xtask libtorch`). Other crates hand it plain buffers; tch types never appear in
//! their APIs.
//!
//! What is here so far:
//! - [`DeviceChoice`]: `auto`/`cpu`/`cuda:N`, resolved against what libtorch sees, with a
//!   clear error when a GPU is requested that is not there.
//! - [`checkpoint`]: weights (and BatchNorm buffers) as safetensors, written atomically.
//! - [`runtime`]: a report on the linked libtorch and a checked computation per device
//!   (`medfen doctor`).
//! - [`nets`]: ResNet 18/34/50 slice encoders (one-channel stem, configurable width),
//!   gated-attention pooling over slices, the ear2d model, and MONAI's 3D ResNets.
//! - [`data`]: medfen-cache batches to tensors; task targets with masks; masked means.
//! - [`autocast`]: mixed-precision regions in the dtype asked for (bf16 is bf16).
//! - [`optim`]: AdamW with state medfen owns (saved and restored exactly) and a warmup +
//!   cosine schedule counted in optimizer steps.
//! - [`train`]: resumable training runs configured by [`train::TrainOptions`].
//! - [`eval`]: evaluation with frozen val thresholds and exam-clustered bootstrap
//!   intervals, written in the common prediction schema.
//! - [`predict`]: per-ear predictions straight from DICOM exams, in the same schema.
//!
//! # Example
//! Fit `y = 2x + 1` with a one-weight linear layer, save it, and reload it into a fresh
//! model:
//! ```
//! use medfen_models::{DeviceChoice, checkpoint};
//! use tch::nn::{self, Module, OptimizerConfig};
//! use tch::Tensor;
//!
//! let device = DeviceChoice::Cpu.resolve()?;
//! tch::manual_seed(0);
//! let vs = nn::VarStore::new(device);
//! let line = nn::linear(vs.root() / "line", 1, 1, Default::default());
//! let mut opt = nn::Sgd::default().build(&vs, 0.1)?;
//! let x = Tensor::from_slice(&[-1.0f32, 0.0, 1.0, 2.0]).reshape([4, 1]);
//! let y = &x * 2.0 + 1.0;
//! for _ in 0..500 {
//!     opt.backward_step(&line.forward(&x).mse_loss(&y, tch::Reduction::Mean));
//! }
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("line.safetensors");
//! checkpoint::save(&vs, &path)?;
//!
//! let mut fresh = nn::VarStore::new(device);
//! let reloaded = nn::linear(fresh.root() / "line", 1, 1, Default::default());
//! checkpoint::load(&mut fresh, &path)?;
//! let at_three = reloaded.forward(&Tensor::from_slice(&[3.0f32]).reshape([1, 1]));
//! assert!((at_three.double_value(&[0, 0]) - 7.0).abs() < 1e-3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod autocast;
pub mod checkpoint;
pub mod data;
mod device;
mod error;
pub mod eval;
pub mod nets;
pub mod optim;
pub mod predict;
pub mod runtime;
pub mod train;

pub use device::DeviceChoice;
pub use error::{Error, Result};
