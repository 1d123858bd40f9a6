//! Options of a pix2pix run, with the defaults of junyanz/pytorch-CycleGAN-and-pix2pix
//! (pix2pix model: unet_256, basic D, batch norm, vanilla GAN, lambda_L1 100, pool size 0,
//! Adam 2e-4 / beta1 0.5, 100 + 100 epochs). The command line (`cli::pix2pix_args`) maps
//! its flags onto `TrainOptions`; this file knows nothing of clap beyond the value names of
//! its small enums.

use crate::nn::Norm;
use crate::optim::LrPolicy;
use anyhow::{bail, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use super::preprocess::Preprocess;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
pub enum Direction {
    /// Translate the left half (A) into the right half (B).
    #[default]
    #[value(name = "AtoB")]
    AtoB,
    #[value(name = "BtoA")]
    BtoA,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Direction::AtoB => "AtoB",
            Direction::BtoA => "BtoA",
        })
    }
}

impl FromStr for Direction {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "AtoB" => Ok(Direction::AtoB),
            "BtoA" => Ok(Direction::BtoA),
            _ => bail!("unknown direction '{s}' (AtoB or BtoA)"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum GanMode {
    Vanilla,
    Lsgan,
}

impl fmt::Display for GanMode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            GanMode::Vanilla => "vanilla",
            GanMode::Lsgan => "lsgan",
        })
    }
}

/// The paper's objectives (Isola et al. 2017, section 4.2, Table 1): L1 alone (no D at all),
/// cGAN alone, both (the default), or an unconditional GAN whose D sees only the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Objective {
    #[value(name = "l1")]
    #[serde(rename = "l1")]
    L1,
    #[value(name = "cgan")]
    #[serde(rename = "cgan")]
    Cgan,
    #[default]
    #[value(name = "l1+cgan")]
    #[serde(rename = "l1+cgan")]
    L1Cgan,
    #[value(name = "gan+l1")]
    #[serde(rename = "gan+l1")]
    GanL1,
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Objective {
    pub const ALL: [Objective; 4] = [Objective::L1, Objective::Cgan, Objective::L1Cgan, Objective::GanL1];

    pub fn name(self) -> &'static str {
        match self {
            Objective::L1 => "l1",
            Objective::Cgan => "cgan",
            Objective::L1Cgan => "l1+cgan",
            Objective::GanL1 => "gan+l1",
        }
    }
    pub fn parse(s: &str) -> anyhow::Result<Objective> {
        Objective::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| anyhow::anyhow!("unknown objective `{s}` (expected l1, cgan, l1+cgan or gan+l1)"))
    }
    /// Whether G is trained towards B in L1.
    pub fn uses_l1(self) -> bool {
        self != Objective::Cgan
    }
    /// Whether a discriminator exists (and G is trained to fool it).
    pub fn uses_gan(self) -> bool {
        self != Objective::L1
    }
    /// Whether D sees the input A next to the image (cGAN) or the image alone (GAN).
    pub fn conditional(self) -> bool {
        self != Objective::GanL1
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Folder with train/ (and val/, test/) of A|B images; None: the built-in dataset.
    pub dataroot: Option<PathBuf>,
    /// Pairs from two folders of same-named images instead of A|B files.
    pub dir_a: Option<PathBuf>,
    pub dir_b: Option<PathBuf>,
    /// Experiment name: checkpoints go to CHECKPOINTS_DIR/NAME.
    pub name: Option<String>,
    pub checkpoints_dir: PathBuf,
    pub direction: Direction,
    pub input_nc: usize,
    pub output_nc: usize,
    /// Generator: unet_256, unet_128 or any unet_N (N a power of two), resnet_9blocks, resnet_6blocks.
    pub netg: String,
    /// Discriminator: basic (70x70 PatchGAN), n_layers, pixel.
    pub netd: String,
    pub n_layers_d: usize,
    pub ngf: usize,
    pub ndf: usize,
    pub norm: Norm,
    pub no_dropout: bool,
    pub gan_mode: GanMode,
    /// Objective: l1+cgan (the paper's), l1 (no D), cgan (no L1), gan+l1 (D sees only B).
    #[serde(default)]
    pub objective: Objective,
    pub lambda_l1: f64,
    pub lr: f64,
    pub beta1: f64,
    pub batch_size: usize,
    pub n_epochs: usize,
    pub n_epochs_decay: usize,
    pub epoch_count: usize,
    /// linear, step or cosine (`LrPolicy::NAMES`); see `schedule`.
    pub lr_policy: String,
    pub lr_decay_iters: usize,
    /// Image buffer of generated images for D (0: none, the pix2pix default).
    pub pool_size: usize,
    pub load_size: u32,
    pub crop_size: u32,
    pub preprocess: Preprocess,
    pub no_flip: bool,
    pub max_dataset_size: Option<usize>,
    pub seed: u64,
    pub save_epoch_freq: usize,
    pub print_freq: usize,
    /// Resume from the latest checkpoint and training state.
    pub continue_train: bool,
    /// Stop after this many iterations in this run (for tests and quick looks).
    pub max_iters: Option<usize>,
}

impl Default for TrainOptions {
    /// The reference's pix2pix defaults.
    fn default() -> Self {
        TrainOptions {
            dataroot: None,
            dir_a: None,
            dir_b: None,
            name: None,
            checkpoints_dir: PathBuf::from("./checkpoints"),
            direction: Direction::AtoB,
            input_nc: 3,
            output_nc: 3,
            netg: "unet_256".into(),
            netd: "basic".into(),
            n_layers_d: 3,
            ngf: 64,
            ndf: 64,
            norm: Norm::Batch,
            no_dropout: false,
            gan_mode: GanMode::Vanilla,
            objective: Objective::L1Cgan,
            lambda_l1: 100.0,
            lr: 0.0002,
            beta1: 0.5,
            batch_size: 1,
            n_epochs: 100,
            n_epochs_decay: 100,
            epoch_count: 1,
            lr_policy: "linear".into(),
            lr_decay_iters: 50,
            pool_size: 0,
            load_size: 286,
            crop_size: 256,
            preprocess: Preprocess::ResizeAndCrop,
            no_flip: false,
            max_dataset_size: None,
            seed: 0,
            save_epoch_freq: 5,
            print_freq: 100,
            continue_train: false,
            max_iters: None,
        }
    }
}

impl TrainOptions {
    /// The learning-rate schedule of `--lr-policy`, built as the reference's `get_scheduler`
    /// does; an unknown name or a zero period is an error.
    pub fn schedule(&self) -> Result<LrPolicy> {
        LrPolicy::from_options(
            &self.lr_policy,
            self.epoch_count,
            self.n_epochs,
            self.n_epochs_decay,
            self.lr_decay_iters,
        )
    }
}
