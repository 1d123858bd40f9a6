//! Options of `engine train-pix2pix` / `test-pix2pix`, with the flags and defaults of
//! junyanz/pytorch-CycleGAN-and-pix2pix (pix2pix model: unet_256, basic D, batch norm,
//! vanilla GAN, lambda_L1 100, pool size 0, Adam 2e-4 / beta1 0.5, 100 + 100 epochs).

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
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
pub enum NormKind {
    Batch,
    Instance,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum GanMode {
    Vanilla,
    Lsgan,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum LrPolicy {
    Linear,
    Step,
    Cosine,
}

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Folder with train/ (and val/, test/) of A|B images; omitted: the built-in dataset.
    #[arg(long)]
    pub dataroot: Option<PathBuf>,
    /// Read pairs from two folders of same-named images instead of A|B files.
    #[arg(long = "dir-a", requires = "dir_b")]
    pub dir_a: Option<PathBuf>,
    #[arg(long = "dir-b", requires = "dir_a")]
    pub dir_b: Option<PathBuf>,
    /// Experiment name: checkpoints go to CHECKPOINTS_DIR/NAME.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "./checkpoints")]
    pub checkpoints_dir: PathBuf,
    #[arg(long, value_enum, default_value = "AtoB")]
    pub direction: Direction,
    #[arg(long, default_value_t = 3)]
    pub input_nc: usize,
    #[arg(long, default_value_t = 3)]
    pub output_nc: usize,
    /// Generator: unet_256, unet_128 or any unet_N (N a power of two), resnet_9blocks, resnet_6blocks.
    #[arg(long = "netg", default_value = "unet_256")]
    pub netg: String,
    /// Discriminator: basic (70x70 PatchGAN), n_layers, pixel.
    #[arg(long = "netd", default_value = "basic")]
    pub netd: String,
    #[arg(long = "n-layers-d", default_value_t = 3)]
    pub n_layers_d: usize,
    #[arg(long, default_value_t = 64)]
    pub ngf: usize,
    #[arg(long, default_value_t = 64)]
    pub ndf: usize,
    #[arg(long, value_enum, default_value = "batch")]
    pub norm: NormKind,
    #[arg(long)]
    pub no_dropout: bool,
    #[arg(long, value_enum, default_value = "vanilla")]
    pub gan_mode: GanMode,
    /// Objective: l1+cgan (the paper's), l1 (no D), cgan (no L1), gan+l1 (D sees only B).
    #[arg(long, value_enum, default_value = "l1+cgan")]
    #[serde(default)]
    pub objective: Objective,
    #[arg(long = "lambda-l1", default_value_t = 100.0)]
    pub lambda_l1: f64,
    #[arg(long, default_value_t = 0.0002)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f64,
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 100)]
    pub n_epochs: usize,
    #[arg(long, default_value_t = 100)]
    pub n_epochs_decay: usize,
    #[arg(long, default_value_t = 1)]
    pub epoch_count: usize,
    #[arg(long, value_enum, default_value = "linear")]
    pub lr_policy: LrPolicy,
    #[arg(long, default_value_t = 50)]
    pub lr_decay_iters: usize,
    /// Image buffer of generated images for D (0: none, the pix2pix default).
    #[arg(long, default_value_t = 0)]
    pub pool_size: usize,
    #[arg(long, default_value_t = 286)]
    pub load_size: u32,
    #[arg(long, default_value_t = 256)]
    pub crop_size: u32,
    #[arg(long, value_enum, default_value = "resize_and_crop")]
    pub preprocess: Preprocess,
    #[arg(long)]
    pub no_flip: bool,
    #[arg(long)]
    pub max_dataset_size: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 5)]
    pub save_epoch_freq: usize,
    #[arg(long, default_value_t = 100)]
    pub print_freq: usize,
    /// Resume from the latest checkpoint and training state.
    #[arg(long)]
    pub continue_train: bool,
    /// Stop after this many iterations in this run (for tests and quick looks).
    #[arg(long, hide = true)]
    pub max_iters: Option<usize>,
}
