//! ResNet 18/34/50 for one-channel slices, with a configurable width and an optional
//! small-input stem (3x3 stride 1, no max-pool) for crops of 64-128 pixels.
//! Initialisation follows torchvision: Kaiming-normal (fan-out) convolutions, BatchNorm
//! weight 1 and bias 0.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, ModuleT};

/// Depth of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResNetDepth {
    /// Basic blocks [2, 2, 2, 2].
    R18,
    /// Basic blocks [3, 4, 6, 3].
    R34,
    /// Bottleneck blocks [3, 4, 6, 3].
    R50,
}

impl ResNetDepth {
    fn blocks(self) -> [usize; 4] {
        match self {
            Self::R18 => [2, 2, 2, 2],
            Self::R34 | Self::R50 => [3, 4, 6, 3],
        }
    }

    fn expansion(self) -> i64 {
        match self {
            Self::R50 => 4,
            _ => 1,
        }
    }
}

/// ResNet settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResNet2dConfig {
    /// Depth.
    pub depth: ResNetDepth,
    /// Channels of the first stage (64 in torchvision; 16-32 for small CPU models).
    pub width: i64,
    /// Input channels (1 for HU windows; more for multi-window inputs).
    pub in_channels: i64,
    /// 3x3 stride-1 stem without max-pool, for small crops.
    pub small_input: bool,
}

impl Default for ResNet2dConfig {
    fn default() -> Self {
        Self {
            depth: ResNetDepth::R18,
            width: 64,
            in_channels: 1,
            small_input: false,
        }
    }
}

fn conv(p: &nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    nn::conv2d(p, c_in, c_out, k, super::conv_config(k, stride))
}

fn bn(p: &nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, super::bn_config())
}

#[derive(Debug)]
struct Block {
    convs: Vec<(nn::Conv2D, nn::BatchNorm)>,
    shortcut: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Block {
    fn new(p: &nn::Path, depth: ResNetDepth, c_in: i64, planes: i64, stride: i64) -> Self {
        let out = planes * depth.expansion();
        let convs = if depth == ResNetDepth::R50 {
            vec![
                (
                    conv(&(p / "conv1"), c_in, planes, 1, 1),
                    bn(&(p / "bn1"), planes),
                ),
                (
                    conv(&(p / "conv2"), planes, planes, 3, stride),
                    bn(&(p / "bn2"), planes),
                ),
                (
                    conv(&(p / "conv3"), planes, out, 1, 1),
                    bn(&(p / "bn3"), out),
                ),
            ]
        } else {
            vec![
                (
                    conv(&(p / "conv1"), c_in, planes, 3, stride),
                    bn(&(p / "bn1"), planes),
                ),
                (
                    conv(&(p / "conv2"), planes, planes, 3, 1),
                    bn(&(p / "bn2"), planes),
                ),
            ]
        };
        let shortcut = (stride != 1 || c_in != out).then(|| {
            (
                conv(&(p / "downsample" / 0), c_in, out, 1, stride),
                bn(&(p / "downsample" / 1), out),
            )
        });
        Self { convs, shortcut }
    }

    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.shallow_clone();
        let last = self.convs.len() - 1;
        for (i, (c, b)) in self.convs.iter().enumerate() {
            h = h.apply(c).apply_t(b, train);
            if i < last {
                h = h.relu();
            }
        }
        let skip = match &self.shortcut {
            Some((c, b)) => xs.apply(c).apply_t(b, train),
            None => xs.shallow_clone(),
        };
        (h + skip).relu()
    }
}

/// A ResNet trunk: image `[N, C, H, W]` to features `[N, F]` (global average pool).
#[derive(Debug)]
pub struct ResNet2d {
    stem: (nn::Conv2D, nn::BatchNorm),
    small_input: bool,
    blocks: Vec<Block>,
    features: i64,
}

impl ResNet2d {
    /// Builds the network's variables under `p`.
    pub fn new(p: &nn::Path, config: &ResNet2dConfig) -> Self {
        let w = config.width;
        let stem = if config.small_input {
            (
                conv(&(p / "conv1"), config.in_channels, w, 3, 1),
                bn(&(p / "bn1"), w),
            )
        } else {
            (
                conv(&(p / "conv1"), config.in_channels, w, 7, 2),
                bn(&(p / "bn1"), w),
            )
        };
        let mut blocks = Vec::new();
        let mut c_in = w;
        for (stage, &n) in config.depth.blocks().iter().enumerate() {
            let planes = w << stage;
            for b in 0..n {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let path = p / format!("layer{}", stage + 1) / b;
                blocks.push(Block::new(&path, config.depth, c_in, planes, stride));
                c_in = planes * config.depth.expansion();
            }
        }
        Self {
            stem,
            small_input: config.small_input,
            blocks,
            features: c_in,
        }
    }

    /// Feature size of the output.
    pub fn features(&self) -> i64 {
        self.features
    }
}

impl ModuleT for ResNet2d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.apply(&self.stem.0).apply_t(&self.stem.1, train).relu();
        if !self.small_input {
            h = h.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        }
        for b in &self.blocks {
            h = b.forward_t(&h, train);
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }
}
