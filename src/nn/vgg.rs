//! VGG-19 feature extractor with torchvision's names (`features.N.weight/bias`) and
//! named taps (conv1_1, relu1_1, ..., pool5), max or average pooling, truncated after
//! the deepest layer needed.

use super::state::load_entries;
use super::{Activation, Conv2d, Entry, Init, Module, Pool2d, Sequential, StateEntry, SummaryRow};
use crate::backend::Pool;
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Context, Result};

/// Name of `features.N` for every N.
pub const VGG19_LAYERS: [&str; 37] = [
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", //
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2", //
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3", //
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4", //
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4", "pool5",
];

/// ImageNet statistics the torchvision weights expect (RGB in [0, 1]).
pub const VGG_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const VGG_STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggPooling {
    Max,
    Avg,
}

impl VggPooling {
    pub fn parse(s: &str) -> Result<VggPooling> {
        match s {
            "max" => Ok(VggPooling::Max),
            "avg" => Ok(VggPooling::Avg),
            _ => bail!("unknown pooling `{s}` (expected max or avg)"),
        }
    }
}

pub struct Vgg19 {
    features: Sequential,
    pub pooling: VggPooling,
    /// Index of the last layer kept.
    pub last: usize,
}

impl Vgg19 {
    /// Index of a layer name ("relu4_2" -> 22).
    pub fn layer_index(name: &str) -> Result<usize> {
        VGG19_LAYERS.iter().position(|&l| l == name).with_context(|| {
            format!("unknown VGG-19 layer `{name}` (expected conv1_1 ... relu5_4 or pool1 ... pool5)")
        })
    }

    /// Layers `features.0 ..= up_to`, weights zero (load real ones with `load_from`, or
    /// `init::init_parameters` for He-normal random ones as torchvision initialises).
    pub fn new(pooling: VggPooling, up_to: &str, device: &Device) -> Result<Vgg19> {
        let last = Self::layer_index(up_to)?;
        let mut features = Sequential::new();
        let mut c_in = 3;
        for (i, name) in VGG19_LAYERS.iter().enumerate().take(last + 1) {
            if name.starts_with("conv") {
                let c_out = [64, 128, 256, 512, 512][(name.as_bytes()[4] - b'1') as usize];
                // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu").
                let std = (2.0 / (c_out * 9) as f64).sqrt();
                features.push(
                    Conv2d::new(c_in, c_out, 3, 1, 1, true, device)
                        .with_init(Init::Normal { mean: 0.0, std }),
                );
                c_in = c_out;
            } else if name.starts_with("relu") {
                features.push(Activation::Relu);
            } else {
                features.push(Pool2d(match pooling {
                    VggPooling::Max => Pool::Max,
                    VggPooling::Avg => Pool::Avg,
                }));
            }
            debug_assert_eq!(features.len(), i + 1);
        }
        Ok(Vgg19 { features, pooling, last })
    }

    /// Loads the kept layers' weights by name from a full VGG-19 state dict (entries
    /// beyond `up_to`, or a classifier, are ignored). Missing or mis-shaped entries are
    /// errors naming the first one.
    pub fn load_from(&self, entries: &[StateEntry]) -> Result<()> {
        load_entries(&|f| self.visit("", f), entries, true)
    }

    /// (x - mean) / std per channel, for RGB images in [0, 1]; differentiable in x.
    pub fn normalize(x: &Tensor) -> Tensor {
        let scale: Vec<f32> = VGG_STD.iter().map(|s| 1.0 / s).collect();
        let shift: Vec<f32> = VGG_MEAN.iter().zip(VGG_STD).map(|(m, s)| -m / s).collect();
        channel_affine(x, &scale, &shift)
    }

    /// Runs the network as far as the deepest requested layer and returns the output of
    /// each named layer, in the order asked. Names must be valid (`layer_index`) and
    /// within `up_to`.
    pub fn forward_taps(&self, x: &Tensor, names: &[&str]) -> Vec<(String, Tensor)> {
        let idx: Vec<usize> = names
            .iter()
            .map(|n| {
                let i = Self::layer_index(n).unwrap_or_else(|e| panic!("Vgg19::forward_taps: {e}"));
                assert!(
                    i <= self.last,
                    "Vgg19::forward_taps: layer {n} lies beyond the last layer kept, {}",
                    VGG19_LAYERS[self.last]
                );
                i
            })
            .collect();
        let deepest = idx.iter().copied().max().unwrap_or(0);
        let mut taps: Vec<Option<Tensor>> = vec![None; names.len()];
        let mut h = x.clone();
        for (i, layer) in self.features.layers.iter().enumerate().take(deepest + 1) {
            h = layer.forward(&h);
            for (slot, &j) in taps.iter_mut().zip(&idx) {
                if j == i {
                    *slot = Some(h.clone());
                }
            }
        }
        names.iter().zip(taps).map(|(n, t)| (n.to_string(), t.expect("every tap reached"))).collect()
    }
}

/// y[:, c] = x[:, c] * scale[c] + shift[c], as a 1x1 convolution with a diagonal weight
/// (so it is differentiable in x and runs on every backend).
pub fn channel_affine(x: &Tensor, scale: &[f32], shift: &[f32]) -> Tensor {
    let c = x.shape()[1];
    assert!(
        scale.len() == c && shift.len() == c,
        "channel_affine: {} scales and {} shifts for input {:?}",
        scale.len(),
        shift.len(),
        x.shape()
    );
    let mut w = vec![0.0f32; c * c];
    for i in 0..c {
        w[i * c + i] = scale[i];
    }
    let w = Tensor::from_f32_as(&w, &[c, c, 1, 1], x.dtype(), x.device());
    let b = Tensor::from_f32_as(shift, &[c], x.dtype(), x.device());
    x.conv2d(&w, Some(&b), 1, 0)
}

impl Module for Vgg19 {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.features.forward(x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.features.visit(&format!("{prefix}features."), f);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        self.features.summarize(&format!("{prefix}features."), input, rows)
    }
}
