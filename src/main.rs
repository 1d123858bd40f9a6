//! `engine`: the command-line entry point. Errors end as one line on stderr: exit code 2 for
//! usage errors (clap's), 1 for every other failure, including a panic (a bug: the hook
//! prints one line instead of a backtrace).

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use engine::backend::DeviceSpec;
use engine::cli;
use engine::pix2pix::test::{TestOptions, TranslateOptions};
use std::collections::HashSet;

#[derive(Parser)]
#[command(
    name = "engine",
    version,
    about = "A small tensor engine with hand-written CUDA kernels: pix2pix, CycleGAN and neural style transfer in one binary."
)]
struct Cli {
    /// auto, cpu, cuda, cuda:N or emu (the CUDA kernels run on the CPU by our emulator).
    #[arg(long, global = true, env = "ENGINE_DEVICE", default_value = "auto")]
    device: String,
    /// Matrix-product precision of the convolutions: fp32, tf32 or bf16 (fp32 accumulation;
    /// default tf32 on cuda, fp32 on cpu and emu; also ENGINE_PRECISION).
    #[arg(long, global = true)]
    precision: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Devices found, NVRTC version, kernel cache, build features.
    Info,
    /// Layer table with output shapes and parameter counts: unet_256, unet_128, unet_N, patchgan, pixelgan, vgg19.
    Summary {
        model: String,
        /// Input side (default: the model's natural size).
        #[arg(long)]
        size: Option<usize>,
    },
    /// Kernel modules: with --report, NVRTC's registers / shared memory / spills per kernel.
    Kernels {
        #[arg(long)]
        report: bool,
        /// Target architecture for the report.
        #[arg(long, default_value = "sm_90")]
        arch: String,
        /// With --report: also SASS counts per kernel (HMMA, FFMA, 128-bit loads and stores,
        /// local memory, divisions in loops), through cuobjdump.
        #[arg(long)]
        sass: bool,
    },
    /// Pair A and B images into A|B training images (as the reference's combine_A_and_B.py).
    Combine(cli::pix2pix::CombineArgs),
    /// Download a pix2pix dataset (facades, maps, edges2shoes, ...).
    FetchDataset(cli::pix2pix::FetchDatasetArgs),
    /// Train pix2pix; without --dataroot, on the built-in dataset.
    #[command(name = "train-pix2pix")]
    TrainPix2pix(Box<cli::pix2pix_args::TrainArgs>),
    /// Translate a test split with a trained generator; writes images, index.html, L1/PSNR.
    #[command(name = "test-pix2pix")]
    TestPix2pix(TestOptions),
    /// Train CycleGAN on unpaired folders trainA/ trainB/; without --dataroot, on the built-in dataset.
    #[command(name = "train-cyclegan")]
    TrainCyclegan(Box<cli::cyclegan::CycleTrainArgs>),
    /// Translate testA/ and testB/ both ways with trained CycleGAN generators; writes images and index.html.
    #[command(name = "test-cyclegan")]
    TestCyclegan(cli::cyclegan::CycleTestArgs),
    /// Translate an image or a folder of any size with a generator checkpoint.
    Translate(TranslateOptions),
    /// The paper's objective ablation: train, test and compare several --objective variants.
    Ablate(Box<cli::pix2pix::AblateArgs>),
    /// Compare result folders: L1, PSNR, SSIM, Lab colour histograms, an image grid.
    Compare(cli::pix2pix::CompareArgs),
    /// Neural style transfer (Gatys et al.) on VGG-19.
    Stylize(Box<cli::stylize::StylizeArgs>),
    /// Download the VGG-19 weights (timm's vgg19.tv_in1k safetensors).
    FetchVgg(cli::stylize::FetchVggArgs),
    /// Benchmarks: kernels against the device's limits, pix2pix step, style iteration.
    Bench(cli::bench::BenchArgs),
}

/// Ids of the flags given on the command line (so presets never override them).
fn explicit_ids(m: &ArgMatches) -> HashSet<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| id.to_string())
        .collect()
}

fn run() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let sub = matches.subcommand().map(|(_, m)| explicit_ids(m)).unwrap_or_default();
    // Parsed here, once, for every command (not by clap, so a bad value is one line).
    let device: DeviceSpec = cli.device.parse().map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Info => cli::info::run(device),
        Command::Summary { model, size } => {
            print!("{}", engine::nn::summary(&model, size)?);
            Ok(())
        }
        Command::Kernels { report, arch, sass } => {
            if report {
                cli::info::kernels_report(&arch, sass)
            } else {
                for (module, kernels) in engine::backend::device::sources::KERNELS {
                    println!("{module}: {}", kernels.join(", "));
                }
                Ok(())
            }
        }
        Command::Combine(a) => cli::pix2pix::run_combine(&a),
        Command::FetchDataset(a) => cli::pix2pix::run_fetch_dataset(&a),
        Command::TrainPix2pix(a) => cli::pix2pix::run_train(
            a.to_options(),
            &sub,
            &cli::device::open(device, cli.precision.as_deref())?,
        ),
        Command::TestPix2pix(t) => {
            cli::pix2pix::run_test(&t, &cli::device::open(device, cli.precision.as_deref())?)
        }
        Command::TrainCyclegan(a) => cli::cyclegan::run_train(
            a.to_options(),
            &sub,
            &cli::device::open(device, cli.precision.as_deref())?,
        ),
        Command::TestCyclegan(t) => {
            cli::cyclegan::run_test(&t, &cli::device::open(device, cli.precision.as_deref())?)
        }
        Command::Translate(t) => {
            cli::pix2pix::run_translate(&t, &cli::device::open(device, cli.precision.as_deref())?)
        }
        Command::Ablate(a) => {
            cli::pix2pix::run_ablate(*a, &sub, &cli::device::open(device, cli.precision.as_deref())?)
        }
        Command::Compare(a) => cli::pix2pix::run_compare(&a),
        Command::Stylize(a) => cli::stylize::run(*a, &cli::device::open(device, cli.precision.as_deref())?),
        Command::FetchVgg(a) => cli::stylize::run_fetch_vgg(a),
        Command::Bench(b) => cli::bench::run(&b, device, cli.precision.as_deref()),
    }
}

/// One line for a panic (what failed, where, where to report it); `RUST_BACKTRACE` still
/// shows the backtrace for debugging.
fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        if msg.starts_with("failed printing to std") {
            // A closed pipe (`engine ... | head`): results already written stay written.
            eprintln!("error: output closed early ({msg})");
        } else {
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            eprintln!(
                "error: internal error: {msg}{at}; this is a bug, please report it with the command line used"
            );
        }
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default_hook(info);
        }
    }));
}

fn main() {
    install_panic_hook();
    let result = std::panic::catch_unwind(run);
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            // clap's own errors (bad flags: exit 2; --help: exit 0) print themselves.
            if let Some(ce) = e.downcast_ref::<clap::Error>() {
                ce.exit();
            }
            eprintln!("error: {e:#}");
            std::process::exit(if engine::check::is_usage(&e) { 2 } else { 1 });
        }
        Err(_) => std::process::exit(1),
    }
}
