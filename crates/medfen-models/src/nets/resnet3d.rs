//! 3D ResNets 10/18/34/50/101/152/200 as MONAI defines them: a 7x7x7 stem (stride 1 by
//! default, configurable), an optional 3x3x3 stride-2 max-pool, four stages with strides
//! 1, 2, 2, 2 of basic (10/18/34) or bottleneck (50+) blocks, shortcut type A (strided
//! identity, zero-padded channels) or B (1x1x1 convolution + BatchNorm), global average
//! pooling and a linear head. Initialisation as MONAI: Kaiming-normal (fan-out)
//! convolutions, BatchNorm weight 1 and bias 0, head bias 0.

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use super::conv_bn::{self, ConvBn, Dims, FoldedWeights, Pass, UnitCounter, fold_units};

/// Depth of a 3D ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResNet3dDepth {
    /// Basic [1, 1, 1, 1].
    R10,
    /// Basic [2, 2, 2, 2].
    R18,
    /// Basic [3, 4, 6, 3].
    R34,
    /// Bottleneck [3, 4, 6, 3].
    R50,
    /// Bottleneck [3, 4, 23, 3].
    R101,
    /// Bottleneck [3, 8, 36, 3].
    R152,
    /// Bottleneck [3, 24, 36, 3].
    R200,
}

impl ResNet3dDepth {
    fn layers(self) -> [usize; 4] {
        match self {
            Self::R10 => [1, 1, 1, 1],
            Self::R18 => [2, 2, 2, 2],
            Self::R34 | Self::R50 => [3, 4, 6, 3],
            Self::R101 => [3, 4, 23, 3],
            Self::R152 => [3, 8, 36, 3],
            Self::R200 => [3, 24, 36, 3],
        }
    }

    fn bottleneck(self) -> bool {
        matches!(self, Self::R50 | Self::R101 | Self::R152 | Self::R200)
    }
}

/// MONAI's shortcut types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shortcut {
    /// Strided identity with zero-padded channels (no parameters).
    A,
    /// 1x1x1 convolution and BatchNorm.
    B,
}

/// 3D ResNet settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResNet3dConfig {
    /// Depth.
    pub depth: ResNet3dDepth,
    /// Channels of the first stage (64 in MONAI).
    pub width: i64,
    /// Input channels.
    pub in_channels: i64,
    /// Stem kernel size (7 in MONAI).
    pub stem_size: i64,
    /// Stem stride (1 in MONAI).
    pub stem_stride: i64,
    /// Leave out the max-pool after the stem.
    pub no_max_pool: bool,
    /// Shortcut type.
    pub shortcut: Shortcut,
    /// Outputs of the head.
    pub outputs: i64,
}

impl Default for ResNet3dConfig {
    fn default() -> Self {
        Self {
            depth: ResNet3dDepth::R18,
            width: 64,
            in_channels: 1,
            stem_size: 7,
            stem_stride: 1,
            no_max_pool: false,
            shortcut: Shortcut::B,
            outputs: 1,
        }
    }
}

#[derive(Debug)]
enum Skip {
    Identity,
    PadA { stride: i64, out: i64 },
    Conv(Box<ConvBn>),
}

#[derive(Debug)]
struct Block3d {
    convs: Vec<ConvBn>,
    skip: Skip,
}

impl Block3d {
    fn units(&self) -> impl Iterator<Item = &ConvBn> {
        let skip = match &self.skip {
            Skip::Conv(u) => Some(&**u),
            _ => None,
        };
        self.convs.iter().chain(skip)
    }

    fn forward(&self, xs: &Tensor, pass: Pass<'_>) -> Tensor {
        match &self.skip {
            Skip::Identity => conv_bn::residual(xs, &self.convs, None, pass),
            Skip::Conv(u) => conv_bn::residual(xs, &self.convs, Some(u), pass),
            Skip::PadA { stride, out } => {
                let s = xs.avg_pool3d(
                    [1, 1, 1],
                    [*stride, *stride, *stride],
                    [0, 0, 0],
                    false,
                    true,
                    None::<i64>,
                );
                let [n, c, d, hh, w] = s.size()[..] else {
                    unreachable!("5-D activations")
                };
                let zeros = Tensor::zeros([n, out - c, d, hh, w], (s.kind(), s.device()));
                let skip = Tensor::cat(&[s, zeros], 1);
                conv_bn::residual_with(xs, &self.convs, pass, |h| conv_bn::add(h, &skip))
            }
        }
    }
}

/// A 3D ResNet classifier: volume `[N, C, D, H, W]` to logits `[N, outputs]`.
#[derive(Debug)]
pub struct ResNet3d {
    stem: ConvBn,
    max_pool: bool,
    blocks: Vec<Block3d>,
    head: nn::Linear,
}

impl ResNet3d {
    /// Builds the variables under `p`.
    pub fn new(p: &nn::Path, config: &ResNet3dConfig) -> Self {
        let w = config.width;
        let mut units = UnitCounter::default();
        let stem = ConvBn::new(
            Dims::Three,
            &(p / "conv1"),
            &(p / "bn1"),
            (config.in_channels, w, config.stem_size, config.stem_stride),
            &mut units,
        );
        let expansion = if config.depth.bottleneck() { 4 } else { 1 };
        let mut blocks = Vec::new();
        let mut c_in = w;
        for (stage, &n) in config.depth.layers().iter().enumerate() {
            let planes = w << stage;
            for b in 0..n {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let bp = p / format!("layer{}", stage + 1) / b;
                let out = planes * expansion;
                let mut unit = |name: usize, shape| {
                    ConvBn::new(
                        Dims::Three,
                        &(&bp / format!("conv{name}")),
                        &(&bp / format!("bn{name}")),
                        shape,
                        &mut units,
                    )
                };
                let convs = if config.depth.bottleneck() {
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
                let skip = if stride == 1 && c_in == out {
                    Skip::Identity
                } else {
                    match config.shortcut {
                        Shortcut::A => Skip::PadA { stride, out },
                        Shortcut::B => Skip::Conv(Box::new(ConvBn::new(
                            Dims::Three,
                            &(&bp / "downsample" / 0),
                            &(&bp / "downsample" / 1),
                            (c_in, out, 1, stride),
                            &mut units,
                        ))),
                    }
                };
                blocks.push(Block3d { convs, skip });
                c_in = out;
            }
        }
        let head = nn::linear(
            p / "fc",
            c_in,
            config.outputs,
            nn::LinearConfig {
                bs_init: Some(nn::Init::Const(0.0)),
                ..nn::LinearConfig::default()
            },
        );
        Self {
            stem,
            max_pool: !config.no_max_pool,
            blocks,
            head,
        }
    }
}

impl ResNet3d {
    /// BatchNorm folded into every convolution, for [`Pass::Folded`]; compute it again
    /// after the weights change.
    pub fn fold(&self) -> FoldedWeights {
        fold_units(std::iter::once(&self.stem).chain(self.blocks.iter().flat_map(Block3d::units)))
    }

    /// Logits `[N, outputs]` of volumes `[N, C, D, H, W]`.
    pub fn forward(&self, xs: &Tensor, pass: Pass<'_>) -> Tensor {
        let mut h = conv_bn::relu(self.stem.forward(xs, pass));
        if self.max_pool {
            h = h.max_pool3d([3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1], false);
        }
        for b in &self.blocks {
            h = b.forward(&h, pass);
        }
        h.adaptive_avg_pool3d([1, 1, 1])
            .flatten(1, -1)
            .to_kind(Kind::Float)
            .apply(&self.head)
    }
}

impl ModuleT for ResNet3d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, if train { Pass::Train } else { Pass::Eval })
    }
}
