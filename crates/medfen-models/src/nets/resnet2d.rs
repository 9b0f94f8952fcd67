//! ResNet 18/34/50 for one-channel slices, with a configurable width and an optional
//! small-input stem (3x3 stride 1, no max-pool) for crops of 64-128 pixels.
//! Initialisation follows torchvision: Kaiming-normal (fan-out) convolutions, BatchNorm
//! weight 1 and bias 0.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::conv_bn::{ConvBn, Dims, FoldedWeights, Pass, UnitCounter, fold_units};

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

#[derive(Debug)]
struct Block {
    convs: Vec<ConvBn>,
    shortcut: Option<ConvBn>,
}

impl Block {
    fn new(
        p: &nn::Path,
        depth: ResNetDepth,
        (c_in, planes, stride): (i64, i64, i64),
        units: &mut UnitCounter,
    ) -> Self {
        let out = planes * depth.expansion();
        let mut unit = |name: usize, shape| {
            ConvBn::new(
                Dims::Two,
                &(p / format!("conv{name}")),
                &(p / format!("bn{name}")),
                shape,
                units,
            )
        };
        let convs = if depth == ResNetDepth::R50 {
            vec![
                unit(1, (c_in, planes, 1, 1)),
                unit(2, (planes, planes, 3, stride)),
                unit(3, (planes, out, 1, 1)),
            ]
        } else {
            vec![
                unit(1, (c_in, planes, 3, stride)),
                unit(2, (planes, planes, 3, 1)),
            ]
        };
        let shortcut = (stride != 1 || c_in != out).then(|| {
            ConvBn::new(
                Dims::Two,
                &(p / "downsample" / 0),
                &(p / "downsample" / 1),
                (c_in, out, 1, stride),
                units,
            )
        });
        Self { convs, shortcut }
    }

    fn units(&self) -> impl Iterator<Item = &ConvBn> {
        self.convs.iter().chain(&self.shortcut)
    }

    fn forward(&self, xs: &Tensor, pass: Pass<'_>) -> Tensor {
        super::conv_bn::residual(xs, &self.convs, self.shortcut.as_ref(), pass)
    }
}

/// A ResNet trunk: image `[N, C, H, W]` to features `[N, F]` (global average pool).
#[derive(Debug)]
pub struct ResNet2d {
    stem: ConvBn,
    small_input: bool,
    blocks: Vec<Block>,
    features: i64,
}

impl ResNet2d {
    /// Builds the network's variables under `p`.
    pub fn new(p: &nn::Path, config: &ResNet2dConfig) -> Self {
        let w = config.width;
        let mut units = UnitCounter::default();
        let (k, stride) = if config.small_input { (3, 1) } else { (7, 2) };
        let stem = ConvBn::new(
            Dims::Two,
            &(p / "conv1"),
            &(p / "bn1"),
            (config.in_channels, w, k, stride),
            &mut units,
        );
        let mut blocks = Vec::new();
        let mut c_in = w;
        for (stage, &n) in config.depth.blocks().iter().enumerate() {
            let planes = w << stage;
            for b in 0..n {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let path = p / format!("layer{}", stage + 1) / b;
                blocks.push(Block::new(
                    &path,
                    config.depth,
                    (c_in, planes, stride),
                    &mut units,
                ));
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

    /// BatchNorm folded into every convolution, for [`Pass::Folded`]; compute it again
    /// after the weights change.
    pub fn fold(&self) -> FoldedWeights {
        fold_units(std::iter::once(&self.stem).chain(self.blocks.iter().flat_map(Block::units)))
    }

    /// Features `[N, F]` of images `[N, C, H, W]`.
    pub fn forward(&self, xs: &Tensor, pass: Pass<'_>) -> Tensor {
        let mut h = super::conv_bn::relu(self.stem.forward(xs, pass));
        if !self.small_input {
            h = h.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        }
        for b in &self.blocks {
            h = b.forward(&h, pass);
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }
}

impl ModuleT for ResNet2d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, if train { Pass::Train } else { Pass::Eval })
    }
}
