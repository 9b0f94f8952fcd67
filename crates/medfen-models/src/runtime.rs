//! What libtorch offers on this machine, checked by computing something on each device.

use std::time::Instant;

use serde::Serialize;
use tch::{Cuda, Device, Kind, Tensor};

/// The libtorch version medfen links (tch 0.26 refuses to build against any other).
pub const LIBTORCH_VERSION: &str = "2.13.0";

/// The libtorch build and the devices it can use.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeReport {
    /// libtorch version.
    pub libtorch_version: &'static str,
    /// The libtorch library this process loaded (`libtorch_cpu.so`, from the process's
    /// memory map; Linux only).
    pub library: Option<String>,
    /// libtorch was built with CUDA support (false for medfen's CPU kit).
    pub cuda_built: bool,
    /// Number of CUDA devices libtorch can use.
    pub cuda_devices: usize,
    /// cuDNN is usable.
    pub cudnn_available: bool,
    /// cuDNN version, when usable.
    pub cudnn_version: Option<i64>,
    /// libtorch uses MKL for CPU linear algebra.
    pub mkl: bool,
    /// libtorch uses OpenMP for CPU parallelism.
    pub openmp: bool,
    /// libtorch uses oneDNN (MKL-DNN) for CPU convolutions.
    pub mkldnn: bool,
    /// Intra-op CPU threads.
    pub intra_op_threads: i32,
    /// Inter-op CPU threads.
    pub inter_op_threads: i32,
    /// One computation per device, compared with an f64 reference.
    pub devices: Vec<DeviceCheck>,
}

/// The result of multiplying a known matrix by its transpose on one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceCheck {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Largest relative difference from the f64 reference.
    pub max_rel_error: f64,
    /// The difference is within f32 round-off.
    pub ok: bool,
    /// Wall time of the computation, including the transfer, in milliseconds.
    pub millis: f64,
}

impl RuntimeReport {
    /// True when every device computed the reference product correctly.
    pub fn all_ok(&self) -> bool {
        !self.devices.is_empty() && self.devices.iter().all(|d| d.ok)
    }
}

/// Inspects the linked libtorch and runs a 96x96 matrix product on the CPU and on every
/// CUDA device.
pub fn probe() -> RuntimeReport {
    let cuda_devices = usize::try_from(Cuda::device_count()).unwrap_or(0);
    let cudnn_available = cuda_devices > 0 && Cuda::cudnn_is_available();
    let mut devices = vec![check_device(Device::Cpu)];
    devices.extend((0..cuda_devices).map(|i| check_device(Device::Cuda(i))));
    RuntimeReport {
        libtorch_version: LIBTORCH_VERSION,
        library: loaded_library("libtorch_cpu.so"),
        cuda_built: tch::utils::has_cuda(),
        cuda_devices,
        cudnn_available,
        cudnn_version: cudnn_available.then(tch::utils::version_cudnn),
        mkl: tch::utils::has_mkl(),
        openmp: tch::utils::has_openmp(),
        mkldnn: tch::utils::has_mkldnn(),
        intra_op_threads: tch::get_num_threads(),
        inter_op_threads: tch::get_num_interop_threads(),
        devices,
    }
}

/// The path of the loaded shared library whose file name is `name`, from
/// `/proc/self/maps`.
fn loaded_library(name: &str) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            std::path::Path::new(p)
                .file_name()
                .is_some_and(|f| f == name)
        })
        .map(str::to_owned)
}

const N: usize = 96;

fn matrix() -> Vec<f32> {
    (0..N * N)
        .map(|k| {
            let (i, j) = ((k / N) as f32, (k % N) as f32);
            (0.37 * i + 0.11 * j).sin() + 0.01 * (i - j)
        })
        .collect()
}

fn check_device(device: Device) -> DeviceCheck {
    let a = matrix();
    let started = Instant::now();
    let t = Tensor::from_slice(&a)
        .reshape([N as i64, N as i64])
        .to_device(device);
    let product = t
        .matmul(&t.tr())
        .to_device(Device::Cpu)
        .to_kind(Kind::Float);
    let got: Vec<f32> = Vec::<f32>::try_from(product.flatten(0, -1)).unwrap_or_default();
    let millis = started.elapsed().as_secs_f64() * 1e3;
    let mut max_rel_error = if got.len() == N * N {
        0.0f64
    } else {
        f64::INFINITY
    };
    for i in 0..N {
        for j in 0..N {
            let exact: f64 = (0..N)
                .map(|k| f64::from(a[i * N + k]) * f64::from(a[j * N + k]))
                .sum();
            if let Some(&g) = got.get(i * N + j) {
                let rel = (f64::from(g) - exact).abs() / exact.abs().max(1.0);
                max_rel_error = max_rel_error.max(rel);
            }
        }
    }
    DeviceCheck {
        device: match device {
            Device::Cuda(i) => format!("cuda:{i}"),
            _ => "cpu".to_owned(),
        },
        max_rel_error,
        ok: max_rel_error < 1e-4,
        millis,
    }
}
