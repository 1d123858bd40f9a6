//! The pix2pix discriminators: PatchGAN (`NLayerDiscriminator`, 70x70 receptive field
//! with n_layers 3) and PixelGAN (1x1 convolutions). Output: one logit per patch.

use super::init::init_parameters;
use super::{Activation, Conv2d, Entry, Module, Norm, Sequential, SummaryRow};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Result};

/// The reference's `define_D`: `basic` (PatchGAN, 3 layers), `n_layers` (PatchGAN with
/// `n_layers_d`) or `pixel` (PixelGAN), initialised from `seed`.
pub fn define_d(
    netd: &str,
    input_nc: usize,
    ndf: usize,
    n_layers_d: usize,
    norm: Norm,
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Module>> {
    Ok(match netd {
        "basic" => Box::new(NLayerDiscriminator::new(input_nc, ndf, 3, norm, seed, device)),
        "n_layers" if n_layers_d >= 1 => {
            Box::new(NLayerDiscriminator::new(input_nc, ndf, n_layers_d, norm, seed, device))
        }
        "n_layers" => bail!("--n_layers_D must be at least 1, got {n_layers_d}"),
        "pixel" => Box::new(PixelDiscriminator::new(input_nc, ndf, norm, seed, device)),
        _ => bail!("unknown discriminator `{netd}` (expected basic, n_layers or pixel)"),
    })
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
        let mut m = Sequential::new();
        m.push(Conv2d::new(input_nc, ndf, 4, 2, 1, true, device));
        m.push(Activation::LeakyRelu(0.2));
        let mut mult = 1;
        for n in 1..n_layers {
            let prev = mult;
            mult = (1 << n).min(8);
            m.push(Conv2d::new(ndf * prev, ndf * mult, 4, 2, 1, use_bias, device));
            m.push_boxed(norm.layer(ndf * mult, device));
            m.push(Activation::LeakyRelu(0.2));
        }
        let prev = mult;
        mult = (1 << n_layers).min(8);
        m.push(Conv2d::new(ndf * prev, ndf * mult, 4, 1, 1, use_bias, device));
        m.push_boxed(norm.layer(ndf * mult, device));
        m.push(Activation::LeakyRelu(0.2));
        m.push(Conv2d::new(ndf * mult, 1, 4, 1, 1, true, device));
        NLayerDiscriminator { model: m, input_nc, ndf, n_layers, norm }
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
