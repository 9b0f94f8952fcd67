//! Networks: ResNet 2D encoders for single slices, pooling over an ear's K slices, the
//! ear2d model that joins them (also in the dual per-exam form), and MONAI's 3D ResNets.

mod attention;
mod conv_bn;
mod dual;
mod ear2d;
mod resnet2d;
mod resnet3d;
mod transformer;

pub use attention::{GatedAttention, SlicePooling};
pub use conv_bn::{FoldedWeights, Pass};
pub use dual::{DualEar2d, DualOutput};
pub use ear2d::{Ear2d, Ear2dConfig, Ear2dOutput};
pub use resnet2d::{ResNet2d, ResNet2dConfig, ResNetDepth};
pub use resnet3d::{ResNet3d, ResNet3dConfig, ResNet3dDepth, Shortcut};
pub use transformer::TransformerPooling;

use tch::nn;

/// Convolution weights as torchvision and MONAI initialise them: Kaiming-normal, fan-out.
pub(crate) const KAIMING_FAN_OUT: nn::Init = nn::Init::Kaiming {
    dist: nn::init::NormalOrUniform::Normal,
    fan: nn::init::FanInOut::FanOut,
    non_linearity: nn::init::NonLinearity::ReLU,
};

/// A bias-free convolution with `same` padding, initialised [`KAIMING_FAN_OUT`].
pub(crate) fn conv_config(k: i64, stride: i64) -> nn::ConvConfig {
    nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ws_init: KAIMING_FAN_OUT,
        ..Default::default()
    }
}

/// BatchNorm with weight 1 and bias 0.
pub(crate) fn bn_config() -> nn::BatchNormConfig {
    nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    }
}
