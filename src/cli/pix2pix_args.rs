//! The flags of `engine train-pix2pix`, mapped onto the library's `TrainOptions` (whose
//! `Default` holds the reference's defaults, so they are written once).

use crate::nn::Norm;
use crate::optim::LrPolicy;
use crate::pix2pix::options::{Direction, GanMode, Objective, Preprocess, TrainOptions};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::path::PathBuf;

fn d() -> TrainOptions {
    TrainOptions::default()
}

fn norm_parser() -> impl TypedValueParser<Value = Norm> {
    PossibleValuesParser::new(Norm::NAMES).map(|s: String| Norm::parse(&s).expect("a listed name"))
}

/// Field names are the flag ids the built-in preset checks (`cli::pix2pix`).
#[derive(Args, Clone, Debug)]
pub struct TrainArgs {
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
    #[arg(long, default_value_os_t = d().checkpoints_dir)]
    pub checkpoints_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = d().direction)]
    pub direction: Direction,
    #[arg(long, default_value_t = d().input_nc)]
    pub input_nc: usize,
    #[arg(long, default_value_t = d().output_nc)]
    pub output_nc: usize,
    /// Generator: unet_256, unet_128 or any unet_N (N a power of two), resnet_9blocks, resnet_6blocks.
    #[arg(long = "netg", default_value_t = d().netg)]
    pub netg: String,
    /// Discriminator: basic (70x70 PatchGAN), n_layers, pixel.
    #[arg(long = "netd", default_value_t = d().netd)]
    pub netd: String,
    #[arg(long = "n-layers-d", default_value_t = d().n_layers_d)]
    pub n_layers_d: usize,
    #[arg(long, default_value_t = d().ngf)]
    pub ngf: usize,
    #[arg(long, default_value_t = d().ndf)]
    pub ndf: usize,
    #[arg(long, value_parser = norm_parser(), default_value_t = d().norm)]
    pub norm: Norm,
    #[arg(long)]
    pub no_dropout: bool,
    #[arg(long, value_enum, default_value_t = d().gan_mode)]
    pub gan_mode: GanMode,
    /// Objective: l1+cgan (the paper's), l1 (no D), cgan (no L1), gan+l1 (D sees only B).
    #[arg(long, value_enum, default_value_t = d().objective)]
    pub objective: Objective,
    #[arg(long = "lambda-l1", default_value_t = d().lambda_l1)]
    pub lambda_l1: f64,
    #[arg(long, default_value_t = d().lr)]
    pub lr: f64,
    #[arg(long, default_value_t = d().beta1)]
    pub beta1: f64,
    #[arg(long, default_value_t = d().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = d().n_epochs)]
    pub n_epochs: usize,
    #[arg(long, default_value_t = d().n_epochs_decay)]
    pub n_epochs_decay: usize,
    #[arg(long, default_value_t = d().epoch_count)]
    pub epoch_count: usize,
    #[arg(long, value_parser = PossibleValuesParser::new(LrPolicy::NAMES), default_value_t = d().lr_policy)]
    pub lr_policy: String,
    #[arg(long, default_value_t = d().lr_decay_iters)]
    pub lr_decay_iters: usize,
    /// Image buffer of generated images for D (0: none, the pix2pix default).
    #[arg(long, default_value_t = d().pool_size)]
    pub pool_size: usize,
    #[arg(long, default_value_t = d().load_size)]
    pub load_size: u32,
    #[arg(long, default_value_t = d().crop_size)]
    pub crop_size: u32,
    #[arg(long, value_enum, default_value_t = d().preprocess)]
    pub preprocess: Preprocess,
    #[arg(long)]
    pub no_flip: bool,
    #[arg(long)]
    pub max_dataset_size: Option<usize>,
    #[arg(long, default_value_t = d().seed)]
    pub seed: u64,
    #[arg(long, default_value_t = d().save_epoch_freq)]
    pub save_epoch_freq: usize,
    #[arg(long, default_value_t = d().print_freq)]
    pub print_freq: usize,
    /// Resume from the latest checkpoint and training state.
    #[arg(long)]
    pub continue_train: bool,
    /// Stop after this many iterations in this run (for tests and quick looks).
    #[arg(long, hide = true)]
    pub max_iters: Option<usize>,
}

impl TrainArgs {
    pub fn to_options(&self) -> TrainOptions {
        let a = self.clone();
        TrainOptions {
            dataroot: a.dataroot,
            dir_a: a.dir_a,
            dir_b: a.dir_b,
            name: a.name,
            checkpoints_dir: a.checkpoints_dir,
            direction: a.direction,
            input_nc: a.input_nc,
            output_nc: a.output_nc,
            netg: a.netg,
            netd: a.netd,
            n_layers_d: a.n_layers_d,
            ngf: a.ngf,
            ndf: a.ndf,
            norm: a.norm,
            no_dropout: a.no_dropout,
            gan_mode: a.gan_mode,
            objective: a.objective,
            lambda_l1: a.lambda_l1,
            lr: a.lr,
            beta1: a.beta1,
            batch_size: a.batch_size,
            n_epochs: a.n_epochs,
            n_epochs_decay: a.n_epochs_decay,
            epoch_count: a.epoch_count,
            lr_policy: a.lr_policy,
            lr_decay_iters: a.lr_decay_iters,
            pool_size: a.pool_size,
            load_size: a.load_size,
            crop_size: a.crop_size,
            preprocess: a.preprocess,
            no_flip: a.no_flip,
            max_dataset_size: a.max_dataset_size,
            seed: a.seed,
            save_epoch_freq: a.save_epoch_freq,
            print_freq: a.print_freq,
            continue_train: a.continue_train,
            max_iters: a.max_iters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        a: TrainArgs,
    }

    /// No flags give exactly `TrainOptions::default()`; flags land in their fields.
    #[test]
    fn flags_map_onto_the_options() {
        let o = Cmd::try_parse_from(["t"]).unwrap().a.to_options();
        assert_eq!(serde_json::to_value(&o).unwrap(), serde_json::to_value(TrainOptions::default()).unwrap());
        let o =
            Cmd::try_parse_from(["t", "--norm", "instance", "--lr-policy", "cosine", "--preprocess", "crop"])
                .unwrap()
                .a
                .to_options();
        assert_eq!(
            (o.norm, o.lr_policy.as_str(), o.preprocess),
            (Norm::Instance, "cosine", Preprocess::Crop)
        );
        assert!(Cmd::try_parse_from(["t", "--lr-policy", "plateau"]).is_err());
        assert!(Cmd::try_parse_from(["t", "--norm", "layer"]).is_err());
    }
}
