//! The pix2pix model: a U-Net generator G and a conditional discriminator D on (A, B)
//! pairs, trained with the objective of Isola et al.: D minimises (real + fake) / 2,
//! G minimises GAN + lambda * L1, and the G step leaves D unchanged.

use super::options::{GanMode, NormKind, TrainOptions};
use crate::autograd::no_grad;
use crate::nn::{define_d, define_g, Generator, Module, NetG, Norm};
use crate::optim::Adam;
use crate::tensor::{Device, Tensor};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Architecture of G and D; stored in checkpoint metadata so test/translate need no flags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arch {
    pub input_nc: usize,
    pub output_nc: usize,
    pub netg: String,
    pub ngf: usize,
    pub netd: String,
    pub n_layers_d: usize,
    pub ndf: usize,
    pub norm: NormKind,
    pub dropout: bool,
}

impl Arch {
    pub fn from_options(o: &TrainOptions) -> Arch {
        Arch {
            input_nc: o.input_nc,
            output_nc: o.output_nc,
            netg: o.netg.clone(),
            ngf: o.ngf,
            netd: o.netd.clone(),
            n_layers_d: o.n_layers_d,
            ndf: o.ndf,
            norm: o.norm,
            dropout: !o.no_dropout,
        }
    }

    pub fn norm(&self) -> Norm {
        match self.norm {
            NormKind::Batch => Norm::Batch,
            NormKind::Instance => Norm::Instance,
            NormKind::None => Norm::None,
        }
    }

    pub fn generator(&self, seed: u64, device: &Device) -> Result<Generator> {
        let (i, o) = (self.input_nc, self.output_nc);
        define_g(&self.netg, i, o, self.ngf, self.norm(), self.dropout, seed, device)
    }

    /// D on the (A, B) pair: `basic`, `n_layers`, `pixel` or `patchN`.
    pub fn discriminator(&self, seed: u64, device: &Device) -> Result<Box<dyn Module>> {
        let nc = self.input_nc + self.output_nc;
        define_d(&self.netd, nc, self.ndf, self.n_layers_d, self.norm(), seed, device)
    }

    /// The side of the input must be a multiple of this (2^num_downs for a U-Net, 4 for a ResNet).
    pub fn stride(&self) -> Result<usize> {
        Ok(NetG::parse(&self.netg)?.multiple())
    }
}

/// Losses of one step, read from the device only when printed.
pub struct StepLosses {
    pub g_gan: Tensor,
    pub g_l1: Tensor,
    pub d_real: Tensor,
    pub d_fake: Tensor,
}

impl StepLosses {
    /// (G_GAN, G_L1, D_real, D_fake) as host numbers (synchronises).
    pub fn values(&self) -> [f64; 4] {
        [self.g_gan.item(), self.g_l1.item(), self.d_real.item(), self.d_fake.item()]
    }
}

pub const LOSS_NAMES: [&str; 4] = ["G_GAN", "G_L1", "D_real", "D_fake"];

pub struct Pix2Pix {
    pub arch: Arch,
    pub g: Generator,
    pub d: Box<dyn Module>,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pub gan_mode: GanMode,
    pub lambda_l1: f64,
}

impl Pix2Pix {
    pub fn new(o: &TrainOptions, device: &Device) -> Result<Pix2Pix> {
        let arch = Arch::from_options(o);
        let g = arch.generator(o.seed.wrapping_mul(2).wrapping_add(1), device)?;
        let d = arch.discriminator(o.seed.wrapping_mul(2).wrapping_add(2), device)?;
        g.set_requires_grad(true);
        d.set_requires_grad(true);
        let opt_g = Adam::new(g.parameters(), o.lr, o.beta1, 0.999);
        let opt_d = Adam::new(d.parameters(), o.lr, o.beta1, 0.999);
        Ok(Pix2Pix { arch, g, d, opt_g, opt_d, gan_mode: o.gan_mode, lambda_l1: o.lambda_l1 })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.opt_g.lr = lr;
        self.opt_d.lr = lr;
    }

    /// GAN loss of D's prediction against an all-real or all-fake target.
    fn gan_loss(&self, pred: &Tensor, real: bool) -> Tensor {
        let target = Tensor::full(pred.shape(), if real { 1.0 } else { 0.0 }, pred.dtype(), pred.device());
        match self.gan_mode {
            GanMode::Vanilla => pred.bce_with_logits(&target),
            GanMode::Lsgan => pred.mse_loss(&target),
        }
    }

    /// One optimisation step on a batch: D step, then G step (as the reference's
    /// optimize_parameters). Returns the fake images and the losses (still on the device).
    pub fn step(&mut self, real_a: &Tensor, real_b: &Tensor) -> (Tensor, StepLosses) {
        let fake_b = self.g.forward(real_a);

        // D: real pairs towards 1, fake pairs (G frozen by detach) towards 0.
        self.d.set_requires_grad(true);
        let fake_ab = Tensor::cat_channels(&[real_a, &fake_b.detach()]);
        let d_fake = self.gan_loss(&self.d.forward(&fake_ab), false);
        let real_ab = Tensor::cat_channels(&[real_a, real_b]);
        let d_real = self.gan_loss(&self.d.forward(&real_ab), true);
        let loss_d = d_fake.add(&d_real).scale(0.5);
        let grads = loss_d.backward();
        self.opt_d.step(&grads);
        drop(grads);

        // G: fool D (D's parameters get no gradient) and stay close to B in L1.
        self.d.set_requires_grad(false);
        let fake_ab = Tensor::cat_channels(&[real_a, &fake_b]);
        let g_gan = self.gan_loss(&self.d.forward(&fake_ab), true);
        let g_l1 = fake_b.l1_loss(real_b).scale(self.lambda_l1);
        let loss_g = g_gan.add(&g_l1);
        let grads = loss_g.backward();
        self.opt_g.step(&grads);

        let _guard = no_grad();
        let losses = StepLosses {
            g_gan: g_gan.detach(),
            g_l1: g_l1.detach(),
            d_real: d_real.detach(),
            d_fake: d_fake.detach(),
        };
        (fake_b.detach(), losses)
    }
}
