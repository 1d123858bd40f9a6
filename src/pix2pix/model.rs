//! The pix2pix model: a U-Net generator G and a conditional discriminator D on (A, B)
//! pairs, trained with the objective of Isola et al.: D minimises (real + fake) / 2,
//! G minimises GAN + lambda * L1, and the G step leaves D unchanged. The paper's ablations
//! (`Objective`) drop the GAN term (no D at all), the L1 term, or D's view of A.

use super::options::{GanMode, Objective, TrainOptions};
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
    pub norm: Norm,
    pub dropout: bool,
    /// Older checkpoints have none: they were trained with the paper's l1+cgan.
    #[serde(default)]
    pub objective: Objective,
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
            objective: o.objective,
        }
    }

    pub fn generator(&self, seed: u64, device: &Device) -> Result<Generator> {
        let (i, o) = (self.input_nc, self.output_nc);
        define_g(&self.netg, i, o, self.ngf, self.norm, self.dropout, seed, device)
    }

    /// Channels D sees: the (A, B) pair, or B alone for the unconditional GAN.
    pub fn d_input_nc(&self) -> usize {
        if self.objective.conditional() {
            self.input_nc + self.output_nc
        } else {
            self.output_nc
        }
    }

    /// D (`basic`, `n_layers`, `pixel` or `patchN`), or none when the objective is L1 alone.
    pub fn discriminator(&self, seed: u64, device: &Device) -> Result<Option<Box<dyn Module>>> {
        if !self.objective.uses_gan() {
            return Ok(None);
        }
        let d = define_d(&self.netd, self.d_input_nc(), self.ndf, self.n_layers_d, self.norm, seed, device)?;
        Ok(Some(d))
    }

    /// The side of the input must be a multiple of this (2^num_downs for a U-Net, 4 for a ResNet).
    pub fn stride(&self) -> Result<usize> {
        Ok(NetG::parse(&self.netg)?.multiple())
    }
}

/// Losses of one step, read from the device only when printed; a term the objective
/// leaves out is `None`.
pub struct StepLosses {
    pub g_gan: Option<Tensor>,
    pub g_l1: Option<Tensor>,
    pub d_real: Option<Tensor>,
    pub d_fake: Option<Tensor>,
}

impl StepLosses {
    /// (G_GAN, G_L1, D_real, D_fake) as host numbers (synchronises); 0 for absent terms, so
    /// every log has the same columns.
    pub fn values(&self) -> [f64; 4] {
        [&self.g_gan, &self.g_l1, &self.d_real, &self.d_fake].map(|t| t.as_ref().map_or(0.0, |t| t.item()))
    }
}

/// The reference's `GANLoss`: D's prediction against an all-real (1) or all-fake (0)
/// target, BCE on logits (vanilla) or mean squared error (LSGAN).
pub fn gan_loss(pred: &Tensor, real: bool, mode: GanMode) -> Tensor {
    let target = Tensor::full(pred.shape(), if real { 1.0 } else { 0.0 }, pred.dtype(), pred.device());
    match mode {
        GanMode::Vanilla => pred.bce_with_logits(&target),
        GanMode::Lsgan => pred.mse_loss(&target),
    }
}

pub const LOSS_NAMES: [&str; 4] = ["G_GAN", "G_L1", "D_real", "D_fake"];

pub struct Pix2Pix {
    pub arch: Arch,
    pub g: Generator,
    /// None when the objective is L1 alone: no D is built or trained.
    pub d: Option<Box<dyn Module>>,
    pub opt_g: Adam,
    pub opt_d: Option<Adam>,
    pub gan_mode: GanMode,
    pub lambda_l1: f64,
}

impl Pix2Pix {
    pub fn new(o: &TrainOptions, device: &Device) -> Result<Pix2Pix> {
        let arch = Arch::from_options(o);
        let g = arch.generator(o.seed.wrapping_mul(2).wrapping_add(1), device)?;
        let d = arch.discriminator(o.seed.wrapping_mul(2).wrapping_add(2), device)?;
        g.set_requires_grad(true);
        let opt_g = Adam::new(g.parameters(), o.lr, o.beta1, 0.999);
        let opt_d = d.as_ref().map(|d| {
            d.set_requires_grad(true);
            Adam::new(d.parameters(), o.lr, o.beta1, 0.999)
        });
        Ok(Pix2Pix { arch, g, d, opt_g, opt_d, gan_mode: o.gan_mode, lambda_l1: o.lambda_l1 })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.opt_g.lr = lr;
        if let Some(opt) = &mut self.opt_d {
            opt.lr = lr;
        }
    }

    /// What D judges: the (A, image) pair for a conditional objective, else the image alone.
    fn d_view(&self, real_a: &Tensor, image: &Tensor) -> Tensor {
        if self.arch.objective.conditional() {
            Tensor::cat_channels(&[real_a, image])
        } else {
            image.clone()
        }
    }

    fn gan_loss(&self, pred: &Tensor, real: bool) -> Tensor {
        gan_loss(pred, real, self.gan_mode)
    }

    /// One optimisation step on a batch: D step, then G step (as the reference's
    /// optimize_parameters). Returns the fake images and the losses (still on the device).
    pub fn step(&mut self, real_a: &Tensor, real_b: &Tensor) -> (Tensor, StepLosses) {
        let fake_b = self.g.forward(real_a);
        let mut losses = StepLosses { g_gan: None, g_l1: None, d_real: None, d_fake: None };

        // D: real towards 1, fake (G frozen by detach) towards 0.
        if let Some(d) = &self.d {
            d.set_requires_grad(true);
            let d_fake = self.gan_loss(&d.forward(&self.d_view(real_a, &fake_b.detach())), false);
            let d_real = self.gan_loss(&d.forward(&self.d_view(real_a, real_b)), true);
            let grads = d_fake.add(&d_real).scale(0.5).backward();
            self.opt_d.as_mut().expect("D has an optimiser").step(&grads);
            losses.d_fake = Some(d_fake);
            losses.d_real = Some(d_real);
        }

        // G: fool D (D's parameters get no gradient) and/or stay close to B in L1.
        let mut terms = Vec::new();
        if let Some(d) = &self.d {
            d.set_requires_grad(false);
            terms.push(self.gan_loss(&d.forward(&self.d_view(real_a, &fake_b)), true));
            losses.g_gan = terms.last().cloned();
        }
        if self.arch.objective.uses_l1() {
            terms.push(fake_b.l1_loss(real_b).scale(self.lambda_l1));
            losses.g_l1 = terms.last().cloned();
        }
        let loss_g = terms.iter().skip(1).fold(terms[0].clone(), |acc, t| acc.add(t));
        let grads = loss_g.backward();
        self.opt_g.step(&grads);

        let _guard = no_grad();
        let detach = |t: &mut Option<Tensor>| *t = t.as_ref().map(Tensor::detach);
        [&mut losses.g_gan, &mut losses.g_l1, &mut losses.d_real, &mut losses.d_fake]
            .into_iter()
            .for_each(detach);
        (fake_b.detach(), losses)
    }
}
