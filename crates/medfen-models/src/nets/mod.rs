//! Networks: ResNet 2D encoders for single slices, pooling over an ear's K slices, the
//! ear2d model that joins them, and MONAI's 3D ResNets.

mod attention;
mod ear2d;
mod resnet2d;
mod resnet3d;

pub use attention::{GatedAttention, SlicePooling};
pub use ear2d::{Ear2d, Ear2dConfig, Ear2dOutput};
pub use resnet2d::{ResNet2d, ResNet2dConfig, ResNetDepth};
pub use resnet3d::{ResNet3d, ResNet3dConfig, ResNet3dDepth, Shortcut};
