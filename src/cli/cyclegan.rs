//! CycleGAN commands: train-cyclegan (with the built-in unpaired dataset and its preset
//! when no --dataroot is given) and test-cyclegan. Flags are the reference's, kebab-case,
//! with its underscore spellings as aliases (--lambda_A, --pool_size, ...).

use crate::cyclegan::options::CycleOptions;
use crate::cyclegan::synth::generate_builtin_unpaired;
use crate::cyclegan::test::{test_cyclegan, CycleTestOptions};
use crate::cyclegan::train::train_cyclegan;
use crate::nn::Norm;
use crate::optim::LrPolicy;
use crate::pix2pix::options::{Direction, GanMode, Preprocess};
use crate::tensor::Device;
use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::collections::HashSet;
use std::path::PathBuf;

fn d() -> CycleOptions {
    CycleOptions::default()
}

fn norm_parser() -> impl TypedValueParser<Value = Norm> {
    PossibleValuesParser::new(Norm::NAMES).map(|s: String| Norm::parse(&s).expect("a listed name"))
}

/// Field names are the flag ids the built-in preset checks.
#[derive(Args, Clone, Debug)]
pub struct CycleTrainArgs {
    /// Folder with trainA/ and trainB/ (unpaired images); omitted: the built-in dataset.
    #[arg(long)]
    pub dataroot: Option<PathBuf>,
    /// Experiment name: checkpoints go to CHECKPOINTS_DIR/NAME.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, alias = "checkpoints_dir", default_value_os_t = d().checkpoints_dir)]
    pub checkpoints_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = d().direction)]
    pub direction: Direction,
    #[arg(long, alias = "input_nc", default_value_t = d().input_nc)]
    pub input_nc: usize,
    #[arg(long, alias = "output_nc", default_value_t = d().output_nc)]
    pub output_nc: usize,
    /// Generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128, ...
    #[arg(long = "netg", alias = "netG", default_value_t = d().netg)]
    pub netg: String,
    /// Discriminator: basic (70x70 PatchGAN), n_layers, pixel.
    #[arg(long = "netd", alias = "netD", default_value_t = d().netd)]
    pub netd: String,
    #[arg(long = "n-layers-d", alias = "n_layers_D", default_value_t = d().n_layers_d)]
    pub n_layers_d: usize,
    #[arg(long, default_value_t = d().ngf)]
    pub ngf: usize,
    #[arg(long, default_value_t = d().ndf)]
    pub ndf: usize,
    #[arg(long, value_parser = norm_parser(), default_value_t = d().norm)]
    pub norm: Norm,
    /// Dropout in the ResNet blocks (off in the reference's CycleGAN).
    #[arg(long)]
    pub dropout: bool,
    #[arg(long, alias = "gan_mode", value_enum, default_value_t = d().gan_mode)]
    pub gan_mode: GanMode,
    /// Weight of the cycle loss A -> B -> A.
    #[arg(long = "lambda-a", alias = "lambda_A", default_value_t = d().lambda_a)]
    pub lambda_a: f64,
    /// Weight of the cycle loss B -> A -> B.
    #[arg(long = "lambda-b", alias = "lambda_B", default_value_t = d().lambda_b)]
    pub lambda_b: f64,
    /// Identity loss weight, relative to lambda_A/lambda_B (0: none; only when channels match).
    #[arg(long = "lambda-identity", alias = "lambda_identity", default_value_t = d().lambda_identity)]
    pub lambda_identity: f64,
    /// Images of the history D sees (0: only the newest).
    #[arg(long, alias = "pool_size", default_value_t = d().pool_size)]
    pub pool_size: usize,
    #[arg(long, default_value_t = d().lr)]
    pub lr: f64,
    #[arg(long, default_value_t = d().beta1)]
    pub beta1: f64,
    #[arg(long, alias = "batch_size", default_value_t = d().batch_size)]
    pub batch_size: usize,
    #[arg(long, alias = "n_epochs", default_value_t = d().n_epochs)]
    pub n_epochs: usize,
    #[arg(long, alias = "n_epochs_decay", default_value_t = d().n_epochs_decay)]
    pub n_epochs_decay: usize,
    #[arg(long, alias = "epoch_count", default_value_t = d().epoch_count)]
    pub epoch_count: usize,
    #[arg(long, alias = "lr_policy", value_parser = PossibleValuesParser::new(LrPolicy::NAMES), default_value_t = d().lr_policy)]
    pub lr_policy: String,
    #[arg(long, alias = "lr_decay_iters", default_value_t = d().lr_decay_iters)]
    pub lr_decay_iters: usize,
    #[arg(long, alias = "load_size", default_value_t = d().load_size)]
    pub load_size: u32,
    #[arg(long, alias = "crop_size", default_value_t = d().crop_size)]
    pub crop_size: u32,
    #[arg(long, value_enum, default_value_t = d().preprocess)]
    pub preprocess: Preprocess,
    #[arg(long, alias = "no_flip")]
    pub no_flip: bool,
    /// A and B in order (B = index mod |B|) instead of shuffled A and a random B.
    #[arg(long, alias = "serial_batches")]
    pub serial_batches: bool,
    #[arg(long, alias = "max_dataset_size")]
    pub max_dataset_size: Option<usize>,
    #[arg(long, default_value_t = d().seed)]
    pub seed: u64,
    #[arg(long, alias = "save_epoch_freq", default_value_t = d().save_epoch_freq)]
    pub save_epoch_freq: usize,
    #[arg(long, alias = "print_freq", default_value_t = d().print_freq)]
    pub print_freq: usize,
    /// Resume from the latest checkpoint and training state.
    #[arg(long, alias = "continue_train")]
    pub continue_train: bool,
    #[arg(long, hide = true)]
    pub max_iters: Option<usize>,
}

impl CycleTrainArgs {
    pub fn to_options(&self) -> CycleOptions {
        let a = self.clone();
        CycleOptions {
            dataroot: a.dataroot,
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
            dropout: a.dropout,
            gan_mode: a.gan_mode,
            lambda_a: a.lambda_a,
            lambda_b: a.lambda_b,
            lambda_identity: a.lambda_identity,
            pool_size: a.pool_size,
            lr: a.lr,
            beta1: a.beta1,
            batch_size: a.batch_size,
            n_epochs: a.n_epochs,
            n_epochs_decay: a.n_epochs_decay,
            epoch_count: a.epoch_count,
            lr_policy: a.lr_policy,
            lr_decay_iters: a.lr_decay_iters,
            load_size: a.load_size,
            crop_size: a.crop_size,
            preprocess: a.preprocess,
            no_flip: a.no_flip,
            serial_batches: a.serial_batches,
            max_dataset_size: a.max_dataset_size,
            seed: a.seed,
            save_epoch_freq: a.save_epoch_freq,
            print_freq: a.print_freq,
            continue_train: a.continue_train,
            max_iters: a.max_iters,
        }
    }
}

/// The built-in unpaired dataset and its preset: small enough for a 2-core CPU to show
/// the translation in about ten minutes, or the reference's 256x256 configuration on a
/// GPU. Flags given on the command line (`explicit`) win.
fn apply_builtin_preset(o: &mut CycleOptions, explicit: &HashSet<String>, gpu: bool) -> Result<()> {
    let (size, n_a, n_b, netg, ngf, ndf, epochs, decay) = if gpu {
        (256, 400, 360, "resnet_9blocks", 64, 64, 100, 100)
    } else {
        (PRESET_SIZE, 120, 100, "resnet_6blocks", 16, 16, PRESET_EPOCHS.0, PRESET_EPOCHS.1)
    };
    let set = |id: &str, f: &mut dyn FnMut()| {
        if !explicit.contains(id) {
            f()
        }
    };
    set("netg", &mut || o.netg = netg.into());
    set("ngf", &mut || o.ngf = ngf);
    set("ndf", &mut || o.ndf = ndf);
    set("n_epochs", &mut || o.n_epochs = epochs);
    set("n_epochs_decay", &mut || o.n_epochs_decay = decay);
    set("load_size", &mut || o.load_size = crate::cli::pix2pix::preset_load_size(size));
    set("crop_size", &mut || o.crop_size = size);
    set("save_epoch_freq", &mut || o.save_epoch_freq = 5);
    set("print_freq", &mut || o.print_freq = 20);
    if !gpu {
        set("lr", &mut || o.lr = PRESET_LR);
    }
    let root = PathBuf::from("datasets").join(format!("builtin_shapes_unpaired_{size}"));
    eprintln!(
        "no --dataroot: the built-in unpaired dataset (A: outlines of shapes, B: other scenes of filled, shaded shapes; {n_a} + {n_b} train images at {size}x{size}) in {}\npreset for {}: --netg {} --ngf {} --ndf {} --load-size {} --crop-size {} --n-epochs {} --n-epochs-decay {} --lr {}",
        root.display(),
        if gpu { "a GPU (the reference's configuration)" } else { "the CPU" },
        o.netg,
        o.ngf,
        o.ndf,
        o.load_size,
        o.crop_size,
        o.n_epochs,
        o.n_epochs_decay,
        o.lr
    );
    crate::cyclegan::validate::validate_cycle_options(o)?;
    o.dataroot = Some(generate_builtin_unpaired(&root, size, n_a, n_b, 20, 0)?);
    Ok(())
}

/// The CPU preset's image side, epochs (constant, decay) and learning rate.
const PRESET_SIZE: u32 = 64;
const PRESET_EPOCHS: (usize, usize) = (8, 6);
const PRESET_LR: f64 = 0.0002;

pub fn run_train(mut o: CycleOptions, explicit: &HashSet<String>, device: &Device) -> Result<()> {
    let builtin = o.dataroot.is_none();
    if builtin {
        apply_builtin_preset(&mut o, explicit, device.kind().is_cuda())?;
    }
    let name = match (&o.name, &o.dataroot) {
        (Some(n), _) => n.clone(),
        (None, _) if builtin => "builtin_shapes_cyclegan".into(),
        (None, Some(root)) => {
            root.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "experiment".into())
        }
        (None, None) => "experiment".into(),
    };
    let s = train_cyclegan(&o, &name, device)?;
    println!(
        "trained {} epochs ({} iterations) in {:.1} s; checkpoints in {}",
        s.epochs,
        s.iterations,
        s.seconds,
        s.checkpoint_dir.display()
    );
    println!("training page: {}", s.checkpoint_dir.join("web").join("index.html").display());
    if builtin {
        println!("next: engine test-cyclegan --name {name}");
    }
    Ok(())
}

#[derive(Args, Clone, Debug)]
pub struct CycleTestArgs {
    /// Experiment name (the folder under --checkpoints-dir).
    #[arg(long)]
    pub name: String,
    /// Dataset root (with testA/ testB/); defaults to the one used for training.
    #[arg(long)]
    pub dataroot: Option<PathBuf>,
    #[arg(long, alias = "checkpoints_dir", default_value = "./checkpoints")]
    pub checkpoints_dir: PathBuf,
    #[arg(long, alias = "results_dir", default_value = "./results")]
    pub results_dir: PathBuf,
    /// test, val or train: reads PHASEA/ and PHASEB/.
    #[arg(long, default_value = "test")]
    pub phase: String,
    /// Which checkpoint: latest or an epoch number.
    #[arg(long, default_value = "latest")]
    pub epoch: String,
    #[arg(long, alias = "num_test", default_value_t = 50)]
    pub num_test: usize,
    /// Eval mode (running statistics, no dropout) instead of the reference's train mode.
    #[arg(long)]
    pub eval: bool,
}

pub fn run_test(a: &CycleTestArgs, device: &Device) -> Result<()> {
    let t = CycleTestOptions {
        name: a.name.clone(),
        dataroot: a.dataroot.clone(),
        checkpoints_dir: a.checkpoints_dir.clone(),
        results_dir: a.results_dir.clone(),
        phase: a.phase.clone(),
        epoch: a.epoch.clone(),
        num_test: a.num_test,
        eval: a.eval,
    };
    let (out, n) = test_cyclegan(&t, device)?;
    println!("{n} images translated both ways");
    println!("results: {}", out.join("index.html").display());
    Ok(())
}
