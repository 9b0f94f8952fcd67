//! Mixed-precision regions with the dtype asked for.
//!
//! `tch::autocast` only switches CUDA autocast on, so it runs in libtorch's default
//! CUDA autocast dtype, float16, whatever the caller meant. [`autocast`] sets the dtype
//! of the [`Precision`] (bfloat16 for `bf16`, float16 for `fp16`) on the device's
//! autocast (CUDA or CPU) through a few lines of C++ against libtorch
//! (`csrc/autocast.cpp`, compiled by the build script), and restores the previous state
//! when the region ends.
//!
//! ```
//! use medfen_models::autocast::autocast;
//! use medfen_models::train::Precision;
//! use tch::{Device, Kind, Tensor};
//!
//! let a = Tensor::ones([4, 4], (Kind::Float, Device::Cpu));
//! let product = autocast(Precision::Bf16, Device::Cpu, || a.matmul(&a))?;
//! assert_eq!(product.kind(), Kind::BFloat16);
//! // fp32 is no region at all.
//! assert_eq!(autocast(Precision::Fp32, Device::Cpu, || a.matmul(&a))?.kind(), Kind::Float);
//! # Ok::<(), medfen_models::Error>(())
//! ```
#![allow(unsafe_code)]

use std::os::raw::c_int;

use tch::Device;

use crate::error::{Error, Result};
use crate::train::Precision;

// SAFETY (all four): plain C functions of `csrc/autocast.cpp` that catch every C++
// exception and write only through the pointers given, which point to live `c_int`s.
unsafe extern "C" {
    fn medfen_autocast_state(device: c_int, enabled: *mut c_int, dtype: *mut c_int) -> c_int;
    fn medfen_autocast_set(device: c_int, enabled: c_int, dtype: c_int) -> c_int;
    fn medfen_autocast_enter() -> c_int;
    fn medfen_autocast_leave() -> c_int;
}

/// The shim's device code: 0 CPU, 1 CUDA.
fn device_code(device: Device) -> c_int {
    c_int::from(device.is_cuda())
}

/// The shim's dtype code of a precision (0 bfloat16, 1 float16); `None` for fp32.
fn dtype_code(precision: Precision) -> Option<c_int> {
    match precision {
        Precision::Fp32 => None,
        Precision::Bf16 => Some(0),
        Precision::Fp16 => Some(1),
    }
}

fn check(status: c_int, what: &str) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error::Config(format!("libtorch refused to {what}")))
    }
}

/// The autocast state of a device type: (enabled, dtype code).
fn state(device: c_int) -> Result<(c_int, c_int)> {
    let (mut enabled, mut dtype) = (0, 0);
    // SAFETY: see the extern block.
    check(
        unsafe { medfen_autocast_state(device, &raw mut enabled, &raw mut dtype) },
        "report the autocast state",
    )?;
    Ok((enabled, dtype))
}

/// Runs `f` with autocast on `device`'s device type (CPU or CUDA) in `precision`'s
/// dtype; `Precision::Fp32` runs `f` as it is. The previous autocast state (enabled
/// and dtype) is restored afterwards.
///
/// # Errors
/// libtorch refusing the autocast dtype on this device type.
pub fn autocast<T>(precision: Precision, device: Device, f: impl FnOnce() -> T) -> Result<T> {
    let Some(dtype) = dtype_code(precision) else {
        return Ok(f());
    };
    let device = device_code(device);
    let (was_enabled, was_dtype) = state(device)?;
    // SAFETY: see the extern block.
    check(
        unsafe { medfen_autocast_set(device, 1, dtype) },
        "set the autocast dtype",
    )?;
    // SAFETY: see the extern block.
    check(unsafe { medfen_autocast_enter() }, "enter autocast")?;
    let result = f();
    // SAFETY: see the extern block.
    let left = unsafe { medfen_autocast_leave() };
    // SAFETY: see the extern block.
    let restored = unsafe { medfen_autocast_set(device, was_enabled, was_dtype) };
    check(left, "leave autocast")?;
    check(restored, "restore the autocast state")?;
    Ok(result)
}

/// The autocast dtype libtorch uses on `device`'s device type now, as a precision
/// (`None` for a dtype medfen does not use).
///
/// # Errors
/// libtorch failing to report it.
pub fn autocast_precision(device: Device) -> Result<Option<Precision>> {
    Ok(match state(device_code(device))?.1 {
        0 => Some(Precision::Bf16),
        1 => Some(Precision::Fp16),
        2 => Some(Precision::Fp32),
        _ => None,
    })
}
