//! The pix2pix discriminators: PatchGAN (`NLayerDiscriminator`, 70x70 receptive field
//! with n_layers 3) and PixelGAN (1x1 convolutions). Output: one logit per patch.

use super::init::init_parameters;
use super::{Activation, Conv2d, Entry, Module, Norm, Sequential, SummaryRow};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Result};

/// Which discriminator a `--netd` name asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscriminatorKind {
    /// `PixelDiscriminator` (1x1 receptive field).
    Pixel,
    /// `NLayerDiscriminator` with this many stride-2 layers.
    NLayer(usize),
}

/// The reference's names (`basic` = PatchGAN with 3 layers, `n_layers` with `n_layers_d`,
/// `pixel`) and the paper's by receptive field (`patch16`, `patch70`, `patch286`, or any
/// `patchN` that some number of layers gives exactly), as in its appendix 6.1.2.
pub fn parse_netd(netd: &str, n_layers_d: usize) -> Result<DiscriminatorKind> {
    Ok(match netd {
        "basic" => DiscriminatorKind::NLayer(3),
        "n_layers" if n_layers_d >= 1 => DiscriminatorKind::NLayer(n_layers_d),
        "n_layers" => bail!("--n_layers_D must be at least 1, got {n_layers_d}"),
        "pixel" => DiscriminatorKind::Pixel,
        _ => match netd.strip_prefix("patch").and_then(|n| n.parse::<usize>().ok()) {
            Some(rf) => match (1..=8).find(|&n| nlayer_receptive_field(n) == rf) {
                Some(n) => DiscriminatorKind::NLayer(n),
                None => bail!(
                    "no PatchGAN has a {rf}x{rf} receptive field; available: {}",
                    (1..=8).map(|n| format!("patch{}", nlayer_receptive_field(n))).collect::<Vec<_>>().join(", ")
                ),
            },
            None => bail!(
                "unknown discriminator `{netd}` (expected basic, n_layers, pixel, patch16, patch70 or patch286)"
            ),
        },
    })
}

/// The reference's `define_D` for any name `parse_netd` takes, initialised from `seed`.
pub fn define_d(
    netd: &str,
    input_nc: usize,
    ndf: usize,
    n_layers_d: usize,
    norm: Norm,
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Module>> {
    Ok(match parse_netd(netd, n_layers_d)? {
        DiscriminatorKind::NLayer(n) => {
            Box::new(NLayerDiscriminator::new(input_nc, ndf, n, norm, seed, device))
        }
        DiscriminatorKind::Pixel => Box::new(PixelDiscriminator::new(input_nc, ndf, norm, seed, device)),
    })
}

/// Receptive field (in input pixels, per side) of one output of a stack of convolutions
/// given as (kernel, stride), first layer first: walking back from one output pixel,
/// each layer widens the field to (field - 1) * stride + kernel.
pub fn receptive_field(convs: &[(usize, usize)]) -> usize {
    convs.iter().rev().fold(1, |field, &(k, s)| (field - 1) * s + k)
}

/// (kernel, stride) of every convolution of `NLayerDiscriminator` with `n_layers`.
fn nlayer_convs(n_layers: usize) -> Vec<(usize, usize)> {
    let mut convs = vec![(4, 2); n_layers];
    convs.extend([(4, 1), (4, 1)]);
    convs
}

/// Receptive field of `NLayerDiscriminator` with `n_layers`: 16, 34, 70, 142, 286, ...
pub fn nlayer_receptive_field(n_layers: usize) -> usize {
    receptive_field(&nlayer_convs(n_layers))
}

pub struct NLayerDiscriminator {
    model: Sequential,
    pub input_nc: usize,
    pub ndf: usize,
    pub n_layers: usize,
    pub norm: Norm,
}

impl NLayerDiscriminator {
    pub fn new(
        input_nc: usize,
        ndf: usize,
        n_layers: usize,
        norm: Norm,
        seed: u64,
        device: &Device,
    ) -> NLayerDiscriminator {
        let d = Self::zeroed(input_nc, ndf, n_layers, norm, device);
        init_parameters(&d, seed);
        d
    }

    /// The structure with all parameters zero (to load a checkpoint into, or to describe).
    pub fn zeroed(
        input_nc: usize,
        ndf: usize,
        n_layers: usize,
        norm: Norm,
        device: &Device,
    ) -> NLayerDiscriminator {
        assert!(n_layers >= 1, "NLayerDiscriminator: n_layers must be at least 1");
        let use_bias = norm.conv_bias();
        // Kernels and strides come from the one description the receptive field uses.
        let convs = nlayer_convs(n_layers);
        let conv = |i: usize, cin: usize, cout: usize, bias: bool| {
            Conv2d::new(cin, cout, convs[i].0, convs[i].1, 1, bias, device)
        };
        let mut m = Sequential::new();
        m.push(conv(0, input_nc, ndf, true));
        m.push(Activation::LeakyRelu(0.2));
        let mut mult = 1;
        for n in 1..n_layers {
            let prev = mult;
            mult = (1 << n).min(8);
            m.push(conv(n, ndf * prev, ndf * mult, use_bias));
            m.push_boxed(norm.layer(ndf * mult, device));
            m.push(Activation::LeakyRelu(0.2));
        }
        let prev = mult;
        mult = (1 << n_layers).min(8);
        m.push(conv(n_layers, ndf * prev, ndf * mult, use_bias));
        m.push_boxed(norm.layer(ndf * mult, device));
        m.push(Activation::LeakyRelu(0.2));
        m.push(conv(n_layers + 1, ndf * mult, 1, true));
        NLayerDiscriminator { model: m, input_nc, ndf, n_layers, norm }
    }

    /// Side of the input patch each output logit sees.
    pub fn receptive_field(&self) -> usize {
        nlayer_receptive_field(self.n_layers)
    }
}

impl Module for NLayerDiscriminator {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.model.forward(x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.model.visit(&format!("{prefix}model."), f);
    }
    fn set_training(&mut self, on: bool) {
        self.model.set_training(on);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        self.model.summarize(&format!("{prefix}model."), input, rows)
    }
}

/// 1x1 PatchGAN: classifies every pixel (the reference's `PixelDiscriminator`; note its
/// last convolution has a bias only with instance norm).
pub struct PixelDiscriminator {
    net: Sequential,
    pub input_nc: usize,
    pub ndf: usize,
    pub norm: Norm,
}

impl PixelDiscriminator {
    pub fn new(input_nc: usize, ndf: usize, norm: Norm, seed: u64, device: &Device) -> PixelDiscriminator {
        let d = Self::zeroed(input_nc, ndf, norm, device);
        init_parameters(&d, seed);
        d
    }

    pub fn zeroed(input_nc: usize, ndf: usize, norm: Norm, device: &Device) -> PixelDiscriminator {
        let use_bias = norm.conv_bias();
        let mut net = Sequential::new();
        net.push(Conv2d::new(input_nc, ndf, 1, 1, 0, true, device));
        net.push(Activation::LeakyRelu(0.2));
        net.push(Conv2d::new(ndf, ndf * 2, 1, 1, 0, use_bias, device));
        net.push_boxed(norm.layer(ndf * 2, device));
        net.push(Activation::LeakyRelu(0.2));
        net.push(Conv2d::new(ndf * 2, 1, 1, 1, 0, use_bias, device));
        PixelDiscriminator { net, input_nc, ndf, norm }
    }

    /// Side of the input patch each output logit sees (three 1x1 convolutions).
    pub fn receptive_field(&self) -> usize {
        receptive_field(&[(1, 1); 3])
    }
}

impl Module for PixelDiscriminator {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.net.forward(x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.net.visit(&format!("{prefix}net."), f);
    }
    fn set_training(&mut self, on: bool) {
        self.net.set_training(on);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        self.net.summarize(&format!("{prefix}net."), input, rows)
    }
}
