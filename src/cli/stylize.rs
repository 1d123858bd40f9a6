//! `engine stylize` and `engine fetch-vgg`: flags of jcjohnson/neural-style (their
//! underscore names are accepted as aliases), parsed into `crate::style::StyleOptions`.
//!
//! Default loss weights. Our losses have the reference's normalisation (MSE of features;
//! MSE of Grams divided by C*H*W), but the network differs: the reference runs the Caffe
//! VGG-19 on 0-255 mean-subtracted pixels, we run torchvision's weights on ImageNet-
//! normalised [0, 1] pixels, whose activations are smaller by a factor k of roughly
//! 30-100. Content scales with k^2 and style with k^4, so the reference's
//! alpha = 5, beta = 100 (alpha/beta = 5e-2) become alpha/beta ~ 5e-2 / k^2, about 1e-5:
//! alpha = 1, beta = 1e5. TV: the reference's energy is tv/2 * sum of squared
//! differences in 0-256 units, ours tv_weight * mean in [0, 1] units; at 512 px and the
//! same k this gives a few hundred, and we take 1e2 (less blur). Gatys et al. report
//! alpha/beta = 1e-3 and 1e-4 in their own (unnormalised) loss. These weights could not
//! be tuned against real torchvision weights where they were chosen; change them with
//! --alpha/--beta/--tv-weight.
//!
//! Adam's learning rate is in [0, 1] pixel units: the reference's 10 (in 0-256 units)
//! is 10/256 ~ 0.039.

use crate::nn::VggPooling;
use crate::style::options::{defaults, parse_numbers, split_list};
use crate::style::weights::{default_vgg_path, read_tensors, VGG19_SHA256, VGG19_URL};
use crate::style::{Init, OptimizerKind, StyleOptions};
use crate::Device;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PoolingArg {
    Max,
    Avg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LineSearchArg {
    StrongWolfe,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    Lbfgs,
    Adam,
}

/// Neural style transfer (Gatys et al.) on VGG-19.
#[derive(Args, Debug, Clone)]
pub struct StylizeArgs {
    /// Content image.
    #[arg(long, alias = "content-image", alias = "content_image", value_name = "IMG")]
    pub content: PathBuf,
    /// Style image(s), comma-separated.
    #[arg(long, alias = "style-image", alias = "style_image", value_name = "IMG[,IMG...]")]
    pub style: String,
    /// Output image (.png or .jpg); the JSON report goes next to it.
    #[arg(long, short = 'o', alias = "output-image", alias = "output_image", default_value = "out.png")]
    pub output: PathBuf,
    /// Content weight.
    #[arg(long, alias = "content-weight", alias = "content_weight", default_value_t = defaults::ALPHA)]
    pub alpha: f64,
    /// Style weight (alpha/beta = 1e-5 by default; see the module notes for the units).
    #[arg(long, alias = "style-weight", alias = "style_weight", default_value_t = defaults::BETA)]
    pub beta: f64,
    /// Total-variation weight (smoothness), on the mean squared neighbour difference.
    #[arg(long, alias = "tv_weight", default_value_t = defaults::TV_WEIGHT)]
    pub tv_weight: f64,
    /// Content layers, comma-separated.
    #[arg(long, alias = "content_layers", default_value = defaults::CONTENT_LAYERS)]
    pub content_layers: String,
    /// Style layers, comma-separated.
    #[arg(long, alias = "style_layers", default_value = defaults::STYLE_LAYERS)]
    pub style_layers: String,
    /// One weight per style layer, comma-separated (default 1 each).
    #[arg(long, alias = "style_layer_weights")]
    pub style_layer_weights: Option<String>,
    /// One weight per style image, comma-separated; normalised to sum to 1 (default equal).
    #[arg(long, alias = "style_blend_weights")]
    pub style_blend_weights: Option<String>,
    /// Style images are resized to a long side of style_scale * image_size.
    #[arg(long, alias = "style_scale", default_value_t = 1.0)]
    pub style_scale: f64,
    /// Long side of the output in pixels.
    #[arg(long, alias = "image_size", default_value_t = defaults::IMAGE_SIZE)]
    pub image_size: usize,
    /// random, content, or the path of an image to start from.
    #[arg(long, default_value = "random")]
    pub init: String,
    #[arg(long, value_enum, default_value = "max")]
    pub pooling: PoolingArg,
    #[arg(long, value_enum, default_value = "lbfgs")]
    pub optimizer: OptimizerArg,
    /// Adam step size in [0, 1] pixel units (the reference's 10 in 0-256 units).
    #[arg(long, alias = "learning_rate", default_value_t = defaults::LEARNING_RATE)]
    pub learning_rate: f64,
    /// Optimiser iterations (per scale with --scales).
    #[arg(long, alias = "num-iterations", alias = "num_iterations", default_value_t = defaults::ITERATIONS)]
    pub iterations: usize,
    /// Keep the content's colours: luminance-only transfer (YIQ).
    #[arg(long, alias = "original_colors")]
    pub original_colors: bool,
    /// Seed of the random initial image.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the losses every N iterations (0: never).
    #[arg(long, alias = "print-iter", alias = "print_iter", default_value_t = defaults::PRINT_EVERY)]
    pub print_every: usize,
    /// Save OUT_<iter>.png every N iterations (0: never).
    #[arg(long, alias = "save-iter", alias = "save_iter", default_value_t = defaults::SAVE_EVERY)]
    pub save_every: usize,
    /// Coarse-to-fine: optimise at N resolutions, each twice the previous, ending at --image-size.
    #[arg(long, default_value_t = 1)]
    pub scales: usize,
    /// VGG-19 weights: safetensors (or a torch.save .pth) with torchvision/timm names; default: $ENGINE_CACHE/vgg19.safetensors or ~/.cache/engine/vgg19.safetensors.
    #[arg(long, value_name = "PATH")]
    pub vgg: Option<PathBuf>,
    /// L-BFGS history size.
    #[arg(long, alias = "lbfgs_num_correction", alias = "lbfgs-num-correction", default_value_t = defaults::LBFGS_HISTORY)]
    pub lbfgs_history: usize,
    /// L-BFGS line search. The reference uses none, which can take a huge second step
    /// from the random start and stall; with strong-wolfe, --iterations bounds the
    /// loss evaluations.
    #[arg(long, value_enum, default_value = "strong-wolfe")]
    pub line_search: LineSearchArg,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

impl StylizeArgs {
    pub fn to_options(&self) -> Result<StyleOptions> {
        let styles: Vec<PathBuf> = split_list(&self.style).into_iter().map(PathBuf::from).collect();
        let mut o = StyleOptions::new(&self.content, styles, &self.output);
        o.alpha = self.alpha;
        o.beta = self.beta;
        o.tv_weight = self.tv_weight;
        o.content_layers = split_list(&self.content_layers);
        o.style_layers = split_list(&self.style_layers);
        o.style_layer_weights = self
            .style_layer_weights
            .as_deref()
            .map(|s| parse_numbers("--style-layer-weights", s))
            .transpose()?;
        o.style_blend_weights = self
            .style_blend_weights
            .as_deref()
            .map(|s| parse_numbers("--style-blend-weights", s))
            .transpose()?;
        o.style_scale = self.style_scale;
        o.image_size = self.image_size;
        o.pooling = match self.pooling {
            PoolingArg::Max => VggPooling::Max,
            PoolingArg::Avg => VggPooling::Avg,
        };
        o.init = Init::parse(&self.init);
        o.optimizer = match self.optimizer {
            OptimizerArg::Lbfgs => OptimizerKind::Lbfgs,
            OptimizerArg::Adam => OptimizerKind::Adam,
        };
        o.learning_rate = self.learning_rate;
        o.iterations = self.iterations;
        o.original_colors = self.original_colors;
        o.seed = self.seed;
        o.print_every = self.print_every;
        o.save_every = self.save_every;
        o.scales = self.scales;
        o.vgg = self.vgg.clone();
        o.lbfgs_history = self.lbfgs_history;
        o.line_search = self.line_search == LineSearchArg::StrongWolfe;
        o.progress = !self.no_progress;
        o.validate()?;
        Ok(o)
    }
}

pub fn run(args: StylizeArgs, device: &Device) -> Result<()> {
    let opts = args.to_options()?;
    let report = crate::style::stylize(&opts, device)?;
    // The image and report are written: a closed stdout (`| head`) is no failure now.
    super::say(&report.summary());
    super::say(&format!("report: {}", crate::style::report::report_path(&report.output).display()));
    Ok(())
}

/// Download the VGG-19 weights (timm's vgg19.tv_in1k, torchvision's ImageNet weights).
#[derive(Args, Debug, Clone)]
pub struct FetchVggArgs {
    /// Where to write the file; default: where `stylize` looks ($ENGINE_CACHE/vgg19.safetensors or ~/.cache/engine/vgg19.safetensors).
    #[arg(long, value_name = "PATH")]
    pub dest: Option<PathBuf>,
    /// Address to download from.
    #[arg(long, default_value = VGG19_URL)]
    pub url: String,
    /// Expected SHA-256 (hex) of the file; the download fails if it differs.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
}

pub fn run_fetch_vgg(args: FetchVggArgs) -> Result<()> {
    let dest = match args.dest {
        Some(d) => d,
        None => {
            default_vgg_path().context("no cache folder ($ENGINE_CACHE and $HOME unset): pass --dest PATH")?
        }
    };
    let pinned = if args.url == VGG19_URL { VGG19_SHA256 } else { None };
    let sha = args.sha256.as_deref().or(pinned);
    if let Some(s) = sha {
        if s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("--sha256 must be 64 hexadecimal digits, got `{s}`");
        }
    }
    crate::io::download::download(&args.url, &dest, sha)?;
    if sha.is_none() {
        // No hash to check: check the contents instead (every VGG-19 feature tensor with
        // its shape), and show the hash so it can be pinned.
        if let Err(e) = check_vgg_contents(&dest) {
            let _ = std::fs::remove_file(&dest);
            return Err(e.context(format!("{}: downloaded from {}, removed", dest.display(), args.url)));
        }
        println!("sha256 {}", sha256_file(&dest)?);
    }
    println!("wrote {}", dest.display());
    Ok(())
}

/// All 16 convolutions of VGG-19's feature extractor, with their shapes.
fn check_vgg_contents(path: &std::path::Path) -> Result<()> {
    use crate::nn::Module;
    let vgg = crate::nn::Vgg19::new(VggPooling::Max, "pool5", &Device::cpu())?;
    let expected: Vec<(String, Vec<usize>)> =
        vgg.named_parameters().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
    read_tensors(path, &expected).map(|_| ())
}

fn sha256_file(path: &std::path::Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
