//! The CycleGAN model (Zhu et al. 2017) as the reference's `cycle_gan_model.py`: G_A: A -> B,
//! G_B: B -> A, D_A judges B-domain images, D_B A-domain ones. One step: forward (fake_B,
//! rec_A, fake_A, rec_B); the G step with D_A, D_B frozen (GAN + lambda * cycle +
//! lambda * lambda_identity * identity, one Adam over G_A and G_B); then the D step, each D
//! on (real -> 1, pooled fake -> 0) * 0.5, one Adam over D_A and D_B.

use super::options::CycleOptions;
use super::pool::ImagePool;
use crate::autograd::no_grad;
use crate::nn::{define_d, define_g, Generator, Module, NetG, Norm};
use crate::optim::Adam;
use crate::pix2pix::model::{gan_loss, Arch};
use crate::pix2pix::options::GanMode;
use crate::tensor::{Device, Tensor};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Architecture of the four networks; stored in checkpoint metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleArch {
    pub input_nc: usize,
    pub output_nc: usize,
    pub netg: String,
    pub ngf: usize,
    pub netd: String,
    pub n_layers_d: usize,
    pub ndf: usize,
    pub norm: Norm,
    pub dropout: bool,
}

/// The four networks, by the reference's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    GA,
    GB,
    DA,
    DB,
}

impl Net {
    pub const ALL: [Net; 4] = [Net::GA, Net::GB, Net::DA, Net::DB];
    pub fn name(self) -> &'static str {
        match self {
            Net::GA => "G_A",
            Net::GB => "G_B",
            Net::DA => "D_A",
            Net::DB => "D_B",
        }
    }
}

impl CycleArch {
    pub fn from_options(o: &CycleOptions) -> CycleArch {
        CycleArch {
            input_nc: o.input_nc,
            output_nc: o.output_nc,
            netg: o.netg.clone(),
            ngf: o.ngf,
            netd: o.netd.clone(),
            n_layers_d: o.n_layers_d,
            ndf: o.ndf,
            norm: o.norm,
            dropout: o.dropout,
        }
    }

    /// A generator's architecture in pix2pix's terms (G_A: input -> output channels, G_B the
    /// reverse), so `translate` and `load_generator` read our G_A / G_B files as any other.
    pub fn generator_arch(&self, net: Net) -> Arch {
        let (i, o) = match net {
            Net::GB => (self.output_nc, self.input_nc),
            _ => (self.input_nc, self.output_nc),
        };
        Arch {
            input_nc: i,
            output_nc: o,
            netg: self.netg.clone(),
            ngf: self.ngf,
            netd: self.netd.clone(),
            n_layers_d: self.n_layers_d,
            ndf: self.ndf,
            norm: self.norm,
            dropout: self.dropout,
            objective: Default::default(),
        }
    }

    pub fn stride(&self) -> Result<usize> {
        Ok(NetG::parse(&self.netg)?.multiple())
    }
}

/// The losses of one step (on the device until printed), in the reference's order.
pub struct CycleLosses(pub [Option<Tensor>; 8]);

pub const LOSS_NAMES: [&str; 8] = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"];

impl CycleLosses {
    /// Host values (synchronises); 0 for a term not computed (identity off).
    pub fn values(&self) -> [f64; 8] {
        std::array::from_fn(|i| self.0[i].as_ref().map_or(0.0, |t| t.item()))
    }
}

/// The images of one step (detached): the reference's visual names.
pub struct Visuals {
    pub real_a: Tensor,
    pub fake_b: Tensor,
    pub rec_a: Tensor,
    pub idt_b: Option<Tensor>,
    pub real_b: Tensor,
    pub fake_a: Tensor,
    pub rec_b: Tensor,
    pub idt_a: Option<Tensor>,
}

impl Visuals {
    /// (label, image) in the reference's display order: the A row, then the B row.
    pub fn labelled(&self) -> Vec<(&'static str, &Tensor)> {
        let mut v = vec![("real_A", &self.real_a), ("fake_B", &self.fake_b), ("rec_A", &self.rec_a)];
        if let Some(t) = &self.idt_b {
            v.push(("idt_B", t));
        }
        v.extend([("real_B", &self.real_b), ("fake_A", &self.fake_a), ("rec_B", &self.rec_b)]);
        if let Some(t) = &self.idt_a {
            v.push(("idt_A", t));
        }
        v
    }
}

pub struct CycleGan {
    pub arch: CycleArch,
    pub g_a: Generator,
    pub g_b: Generator,
    pub d_a: Box<dyn Module>,
    pub d_b: Box<dyn Module>,
    pub opt_g: Adam,
    pub opt_d: Adam,
    /// History of fake_A images (D_B's), of fake_B images (D_A's).
    pub pool_a: ImagePool,
    pub pool_b: ImagePool,
    pub gan_mode: GanMode,
    pub lambda_a: f64,
    pub lambda_b: f64,
    /// 0 when the identity loss is off (lambda_identity 0 or channel counts differ).
    pub lambda_identity: f64,
}

impl CycleGan {
    pub fn new(o: &CycleOptions, device: &Device) -> Result<CycleGan> {
        let arch = CycleArch::from_options(o);
        let s = |k: u64| o.seed.wrapping_mul(8).wrapping_add(k);
        let (i, out) = (o.input_nc, o.output_nc);
        let g_a = define_g(&o.netg, i, out, o.ngf, o.norm, o.dropout, s(1), device)?;
        let g_b = define_g(&o.netg, out, i, o.ngf, o.norm, o.dropout, s(2), device)?;
        let d_a = define_d(&o.netd, out, o.ndf, o.n_layers_d, o.norm, s(3), device)?;
        let d_b = define_d(&o.netd, i, o.ndf, o.n_layers_d, o.norm, s(4), device)?;
        for m in [&g_a as &dyn Module, &g_b, d_a.as_ref(), d_b.as_ref()] {
            m.set_requires_grad(true);
        }
        let mut gp = g_a.parameters();
        gp.extend(g_b.parameters());
        let mut dp = d_a.parameters();
        dp.extend(d_b.parameters());
        Ok(CycleGan {
            arch,
            opt_g: Adam::new(gp, o.lr, o.beta1, 0.999),
            opt_d: Adam::new(dp, o.lr, o.beta1, 0.999),
            g_a,
            g_b,
            d_a,
            d_b,
            pool_a: ImagePool::new(o.pool_size, o.seed, 0xA),
            pool_b: ImagePool::new(o.pool_size, o.seed, 0xB),
            gan_mode: o.gan_mode,
            lambda_a: o.lambda_a,
            lambda_b: o.lambda_b,
            lambda_identity: if o.uses_identity() { o.lambda_identity } else { 0.0 },
        })
    }

    pub fn net(&self, n: Net) -> &dyn Module {
        match n {
            Net::GA => &self.g_a,
            Net::GB => &self.g_b,
            Net::DA => self.d_a.as_ref(),
            Net::DB => self.d_b.as_ref(),
        }
    }

    pub fn set_training(&mut self, on: bool) {
        self.g_a.set_training(on);
        self.g_b.set_training(on);
        self.d_a.set_training(on);
        self.d_b.set_training(on);
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.opt_g.lr = lr;
        self.opt_d.lr = lr;
    }

    /// (GAN(real, 1) + GAN(fake, 0)) * 0.5, the reference's `backward_D_basic`.
    fn d_loss(&self, d: &dyn Module, real: &Tensor, fake: &Tensor) -> Tensor {
        let real = gan_loss(&d.forward(real), true, self.gan_mode);
        let fake = gan_loss(&d.forward(fake), false, self.gan_mode);
        real.add(&fake).scale(0.5)
    }

    /// One optimisation step on a batch (the reference's `optimize_parameters`).
    pub fn step(&mut self, real_a: &Tensor, real_b: &Tensor) -> (Visuals, CycleLosses) {
        let fake_b = self.g_a.forward(real_a);
        let rec_a = self.g_b.forward(&fake_b);
        let fake_a = self.g_b.forward(real_b);
        let rec_b = self.g_a.forward(&fake_a);

        // G_A and G_B, with D_A and D_B frozen (no gradient into them).
        self.d_a.set_requires_grad(false);
        self.d_b.set_requires_grad(false);
        let (mut idt_a, mut idt_b, mut loss_idt_a, mut loss_idt_b) = (None, None, None, None);
        if self.lambda_identity > 0.0 {
            let ia = self.g_a.forward(real_b);
            loss_idt_a = Some(ia.l1_loss(real_b).scale(self.lambda_b * self.lambda_identity));
            let ib = self.g_b.forward(real_a);
            loss_idt_b = Some(ib.l1_loss(real_a).scale(self.lambda_a * self.lambda_identity));
            (idt_a, idt_b) = (Some(ia), Some(ib));
        }
        let loss_g_a = gan_loss(&self.d_a.forward(&fake_b), true, self.gan_mode);
        let loss_g_b = gan_loss(&self.d_b.forward(&fake_a), true, self.gan_mode);
        let cycle_a = rec_a.l1_loss(real_a).scale(self.lambda_a);
        let cycle_b = rec_b.l1_loss(real_b).scale(self.lambda_b);
        let mut loss_g = loss_g_a.add(&loss_g_b).add(&cycle_a).add(&cycle_b);
        for t in [&loss_idt_a, &loss_idt_b].into_iter().flatten() {
            loss_g = loss_g.add(t);
        }
        let grads = loss_g.backward();
        self.opt_g.step(&grads);
        drop(grads);

        // D_A on real_B vs pooled fake_B, D_B on real_A vs pooled fake_A.
        self.d_a.set_requires_grad(true);
        self.d_b.set_requires_grad(true);
        let pooled_b = self.pool_b.query(&fake_b);
        let loss_d_a = self.d_loss(self.d_a.as_ref(), real_b, &pooled_b);
        let pooled_a = self.pool_a.query(&fake_a);
        let loss_d_b = self.d_loss(self.d_b.as_ref(), real_a, &pooled_a);
        let grads = loss_d_a.add(&loss_d_b).backward();
        self.opt_d.step(&grads);

        let _guard = no_grad();
        let d = |t: &Tensor| Some(t.detach());
        let losses = CycleLosses([
            d(&loss_d_a),
            d(&loss_g_a),
            d(&cycle_a),
            loss_idt_a.as_ref().and_then(d),
            d(&loss_d_b),
            d(&loss_g_b),
            d(&cycle_b),
            loss_idt_b.as_ref().and_then(d),
        ]);
        let visuals = Visuals {
            real_a: real_a.clone(),
            fake_b: fake_b.detach(),
            rec_a: rec_a.detach(),
            idt_b: idt_b.map(|t| t.detach()),
            real_b: real_b.clone(),
            fake_a: fake_a.detach(),
            rec_b: rec_b.detach(),
            idt_a: idt_a.map(|t| t.detach()),
        };
        (visuals, losses)
    }
}
