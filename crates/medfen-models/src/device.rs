//! Choosing the device a model runs on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Cuda, Device};

use crate::error::{Error, Result};

/// Where to run: the first CUDA device when there is one, the CPU, or a given GPU.
///
/// Parsed from `auto`, `cpu`, `cuda` (= `cuda:0`) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch sees one, else the CPU (the default).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N; an error when it does not exist.
    Cuda(usize),
}

impl DeviceChoice {
    /// Resolves the choice against what libtorch sees on this machine.
    ///
    /// # Errors
    /// [`Error::CudaUnavailable`] when a CUDA device was asked for explicitly and
    /// libtorch does not have it (no GPU, or a CPU-only libtorch).
    pub fn resolve(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Auto => Ok(Device::cuda_if_available()),
            Self::Cuda(index) => {
                let available = usize::try_from(Cuda::device_count()).unwrap_or(0);
                if index < available {
                    Ok(Device::Cuda(index))
                } else {
                    Err(Error::CudaUnavailable {
                        requested: index,
                        available,
                        hint: if tch::utils::has_cuda() {
                            ""
                        } else {
                            " (this libtorch was built without CUDA; on a GPU host run \
                             `cargo xtask libtorch --cuda`)"
                        },
                    })
                }
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| Error::InvalidDevice(s.to_owned())),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> Self {
        d.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for (text, choice) in [
            ("auto", DeviceChoice::Auto),
            ("CPU", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
        ] {
            assert_eq!(text.parse::<DeviceChoice>().unwrap(), choice);
        }
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
        assert!(matches!(
            "tpu".parse::<DeviceChoice>(),
            Err(Error::InvalidDevice(_))
        ));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn cpu_always_resolves_and_missing_gpus_are_errors() {
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        let count = usize::try_from(Cuda::device_count()).unwrap_or(0);
        let err = DeviceChoice::Cuda(count).resolve().unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("CUDA device {count} was requested"))
        );
        if count == 0 {
            assert_eq!(DeviceChoice::Auto.resolve().unwrap(), Device::Cpu);
        }
    }
}
