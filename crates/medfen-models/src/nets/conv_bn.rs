//! A convolution followed by BatchNorm, the unit every ResNet here is made of, and the
//! three ways a network runs it: with batch statistics (training), with running
//! statistics (evaluation), or folded into one biased convolution (inference).
//!
//! Folding computes `w' = w * g / sqrt(v + eps)` and `b' = beta - m * g / sqrt(v + eps)`
//! once per model made ready for inference, so inference skips every BatchNorm pass over
//! the activations.

use tch::Tensor;
use tch::nn;

/// How a network's convolution + BatchNorm units run.
#[derive(Debug, Clone, Copy)]
pub enum Pass<'a> {
    /// Training: batch statistics, running statistics updated.
    Train,
    /// Evaluation: running statistics.
    Eval,
    /// Inference with BatchNorm folded into the convolutions (see [`FoldedWeights`]).
    Folded(&'a FoldedWeights),
}

impl Pass<'_> {
    /// True for [`Pass::Train`] (dropout on, batch statistics).
    pub fn train(self) -> bool {
        matches!(self, Pass::Train)
    }
}

/// The folded weight and bias of every unit of one network, by unit number.
#[derive(Debug)]
pub struct FoldedWeights(Vec<(Tensor, Tensor)>);

impl FoldedWeights {
    /// Number of folded units.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the network has no units.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug)]
enum Conv {
    D2(nn::Conv2D),
    D3(nn::Conv3D),
}

/// One convolution (bias-free, `same` padding) and its BatchNorm.
#[derive(Debug)]
pub(crate) struct ConvBn {
    conv: Conv,
    bn: nn::BatchNorm,
    stride: i64,
    padding: i64,
    id: usize,
}

/// Spatial dimensions of a unit.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dims {
    /// Slices.
    Two,
    /// Volumes.
    Three,
}

/// Numbers the units of one network in construction order.
#[derive(Debug, Default)]
pub(crate) struct UnitCounter(usize);

impl UnitCounter {
    fn next(&mut self) -> usize {
        self.0 += 1;
        self.0 - 1
    }
}

impl ConvBn {
    /// A unit of `dims` spatial dimensions: variables `conv/weight` and
    /// `bn/{weight,bias,running_*}`.
    pub fn new(
        dims: Dims,
        conv: &nn::Path,
        bn: &nn::Path,
        (c_in, c_out, k, stride): (i64, i64, i64, i64),
        units: &mut UnitCounter,
    ) -> Self {
        let cfg = super::conv_config(k, stride);
        let (conv, bn) = match dims {
            Dims::Two => (
                Conv::D2(nn::conv2d(conv, c_in, c_out, k, cfg)),
                nn::batch_norm2d(bn, c_out, super::bn_config()),
            ),
            Dims::Three => (
                Conv::D3(nn::conv3d(conv, c_in, c_out, k, cfg)),
                nn::batch_norm3d(bn, c_out, super::bn_config()),
            ),
        };
        Self {
            conv,
            bn,
            stride,
            padding: k / 2,
            id: units.next(),
        }
    }

    fn weight(&self) -> &Tensor {
        match &self.conv {
            Conv::D2(c) => &c.ws,
            Conv::D3(c) => &c.ws,
        }
    }

    /// Convolution then BatchNorm (or the folded convolution).
    pub fn forward(&self, xs: &Tensor, pass: Pass<'_>) -> Tensor {
        match pass {
            Pass::Train | Pass::Eval => {
                let h = match &self.conv {
                    Conv::D2(c) => xs.apply(c),
                    Conv::D3(c) => xs.apply(c),
                };
                h.apply_t(&self.bn, pass.train())
            }
            Pass::Folded(folded) => {
                let (w, b) = &folded.0[self.id];
                let (s, p) = (self.stride, self.padding);
                match &self.conv {
                    Conv::D2(_) => xs.conv2d(w, Some(b), [s, s], [p, p], [1, 1], 1),
                    Conv::D3(_) => xs.conv3d(w, Some(b), [s, s, s], [p, p, p], [1, 1, 1], 1),
                }
            }
        }
    }

    /// This unit's folded weight (in the weight's memory format) and bias.
    fn fold(&self) -> (Tensor, Tensor) {
        let w = self.weight();
        let eps = super::bn_config().eps;
        let scale = (&self.bn.running_var + eps).rsqrt();
        let scale = match &self.bn.ws {
            Some(g) => scale * g,
            None => scale,
        };
        let shift = -(&self.bn.running_mean * &scale);
        let shift = match &self.bn.bs {
            Some(beta) => shift + beta,
            None => shift,
        };
        let mut view = vec![-1i64];
        view.resize(w.dim(), 1);
        // The product keeps the weight's (channels-last) strides.
        let folded = w * scale.view(view.as_slice()).to_kind(w.kind());
        (folded, shift.to_kind(w.kind()))
    }
}

/// Folds every unit of a network; `units` are its units in any order.
pub(crate) fn fold_units<'a>(units: impl Iterator<Item = &'a ConvBn>) -> FoldedWeights {
    tch::no_grad(|| {
        let mut folded: Vec<(usize, (Tensor, Tensor))> = units.map(|u| (u.id, u.fold())).collect();
        folded.sort_by_key(|(id, _)| *id);
        assert!(
            folded.iter().enumerate().all(|(i, (id, _))| i == *id),
            "every unit of the network is folded once"
        );
        FoldedWeights(folded.into_iter().map(|(_, wb)| wb).collect())
    })
}

/// ReLU in place, as torchvision's `ReLU(inplace=True)`: `h` is always a fresh unit
/// output, and neither BatchNorm's nor a convolution's backward pass needs its own
/// output, so autograd is unaffected, and no new activation buffer is allocated (a
/// fresh buffer of tens of megabytes costs more in page faults than the ReLU itself).
pub(crate) fn relu(mut h: Tensor) -> Tensor {
    let _ = h.relu_();
    h
}

/// A residual block: `relu(units(xs) + skip)`, where the units run in order with ReLU
/// between them and `skip` is `shortcut(xs)` or `xs` itself.
pub(crate) fn residual(
    xs: &Tensor,
    units: &[ConvBn],
    shortcut: Option<&ConvBn>,
    pass: Pass<'_>,
) -> Tensor {
    let skip = shortcut.map(|s| s.forward(xs, pass));
    residual_with(xs, units, pass, |h| add(h, skip.as_ref().unwrap_or(xs)))
}

/// Like [`residual`] with the skip connection added by `add_skip`.
pub(crate) fn residual_with(
    xs: &Tensor,
    units: &[ConvBn],
    pass: Pass<'_>,
    add_skip: impl FnOnce(Tensor) -> Tensor,
) -> Tensor {
    let mut h = xs.shallow_clone();
    let last = units.len() - 1;
    for (i, unit) in units.iter().enumerate() {
        h = unit.forward(&h, pass);
        if i < last {
            h = relu(h);
        }
    }
    relu(add_skip(h))
}

/// `h + skip`, in place into `h` (a fresh unit output, as for [`relu`]).
pub(crate) fn add(mut h: Tensor, skip: &Tensor) -> Tensor {
    h += skip;
    h
}
