//! Options of a CycleGAN run, with the defaults of junyanz/pytorch-CycleGAN-and-pix2pix's
//! `cycle_gan` model (resnet_9blocks, basic D, instance norm, no dropout, LSGAN,
//! lambda_A = lambda_B = 10, lambda_identity 0.5, pool size 50, Adam 2e-4 / beta1 0.5,
//! load 286 crop 256 with flip, 100 + 100 epochs). The command line (`cli::cyclegan`) maps
//! its flags onto `CycleOptions`.

use crate::nn::Norm;
use crate::optim::LrPolicy;
use crate::pix2pix::options::{Direction, GanMode, Preprocess, TrainOptions};
use crate::pix2pix::preprocess::PreprocessOptions;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CycleOptions {
    /// Folder with trainA/ trainB/ (and testA/ testB/); None: the built-in unpaired dataset.
    pub dataroot: Option<PathBuf>,
    pub name: Option<String>,
    pub checkpoints_dir: PathBuf,
    /// AtoB: G_A translates trainA into trainB; BtoA swaps the two domains.
    pub direction: Direction,
    pub input_nc: usize,
    pub output_nc: usize,
    pub netg: String,
    pub netd: String,
    pub n_layers_d: usize,
    pub ngf: usize,
    pub ndf: usize,
    pub norm: Norm,
    /// Dropout in the ResNet blocks (the reference's CycleGAN default is off: `no_dropout=True`).
    pub dropout: bool,
    pub gan_mode: GanMode,
    /// Weight of the cycle loss A -> B -> A.
    pub lambda_a: f64,
    /// Weight of the cycle loss B -> A -> B.
    pub lambda_b: f64,
    /// Weight of the identity loss relative to lambda_A / lambda_B (used only when the
    /// input and output channel counts match).
    pub lambda_identity: f64,
    pub pool_size: usize,
    pub lr: f64,
    pub beta1: f64,
    pub batch_size: usize,
    pub n_epochs: usize,
    pub n_epochs_decay: usize,
    pub epoch_count: usize,
    pub lr_policy: String,
    pub lr_decay_iters: usize,
    pub load_size: u32,
    pub crop_size: u32,
    pub preprocess: Preprocess,
    pub no_flip: bool,
    /// Take A and B in order (B = index mod |B|) instead of shuffled A and random B.
    pub serial_batches: bool,
    pub max_dataset_size: Option<usize>,
    pub seed: u64,
    pub save_epoch_freq: usize,
    pub print_freq: usize,
    pub continue_train: bool,
    /// Stop after this many iterations in this run (for tests and quick looks).
    pub max_iters: Option<usize>,
}

impl Default for CycleOptions {
    /// The reference's CycleGAN defaults.
    fn default() -> Self {
        CycleOptions {
            dataroot: None,
            name: None,
            checkpoints_dir: PathBuf::from("./checkpoints"),
            direction: Direction::AtoB,
            input_nc: 3,
            output_nc: 3,
            netg: "resnet_9blocks".into(),
            netd: "basic".into(),
            n_layers_d: 3,
            ngf: 64,
            ndf: 64,
            norm: Norm::Instance,
            dropout: false,
            gan_mode: GanMode::Lsgan,
            lambda_a: 10.0,
            lambda_b: 10.0,
            lambda_identity: 0.5,
            pool_size: 50,
            lr: 0.0002,
            beta1: 0.5,
            batch_size: 1,
            n_epochs: 100,
            n_epochs_decay: 100,
            epoch_count: 1,
            lr_policy: "linear".into(),
            lr_decay_iters: 50,
            load_size: 286,
            crop_size: 256,
            preprocess: Preprocess::ResizeAndCrop,
            no_flip: false,
            serial_batches: false,
            max_dataset_size: None,
            seed: 0,
            save_epoch_freq: 5,
            print_freq: 100,
            continue_train: false,
            max_iters: None,
        }
    }
}

impl CycleOptions {
    pub fn schedule(&self) -> Result<LrPolicy> {
        LrPolicy::from_options(
            &self.lr_policy,
            self.epoch_count,
            self.n_epochs,
            self.n_epochs_decay,
            self.lr_decay_iters,
        )
    }

    /// Whether the identity loss is used: lambda_identity > 0 and G_A can take B (and G_B
    /// A), i.e. the channel counts match.
    pub fn uses_identity(&self) -> bool {
        self.lambda_identity > 0.0 && self.input_nc == self.output_nc
    }

    pub fn preprocess_options(&self) -> PreprocessOptions {
        PreprocessOptions {
            preprocess: self.preprocess,
            load_size: self.load_size,
            crop_size: self.crop_size,
            no_flip: self.no_flip,
        }
    }

    /// The options as pix2pix's, for the checks both share (generator and discriminator
    /// against input sizes, preprocessing, learning rate, schedule): same flag names.
    pub fn as_pix2pix(&self) -> TrainOptions {
        TrainOptions {
            dataroot: self.dataroot.clone(),
            name: self.name.clone(),
            checkpoints_dir: self.checkpoints_dir.clone(),
            direction: self.direction,
            input_nc: self.input_nc,
            output_nc: self.output_nc,
            netg: self.netg.clone(),
            netd: self.netd.clone(),
            n_layers_d: self.n_layers_d,
            ngf: self.ngf,
            ndf: self.ndf,
            norm: self.norm,
            no_dropout: !self.dropout,
            gan_mode: self.gan_mode,
            lambda_l1: 0.0,
            lr: self.lr,
            beta1: self.beta1,
            batch_size: self.batch_size,
            n_epochs: self.n_epochs,
            n_epochs_decay: self.n_epochs_decay,
            epoch_count: self.epoch_count,
            lr_policy: self.lr_policy.clone(),
            lr_decay_iters: self.lr_decay_iters,
            pool_size: self.pool_size,
            load_size: self.load_size,
            crop_size: self.crop_size,
            preprocess: self.preprocess,
            no_flip: self.no_flip,
            max_dataset_size: self.max_dataset_size,
            seed: self.seed,
            save_epoch_freq: self.save_epoch_freq,
            print_freq: self.print_freq,
            continue_train: self.continue_train,
            max_iters: self.max_iters,
            ..TrainOptions::default()
        }
    }
}
