//! Everything a style-transfer run needs to know, independent of the command line, and
//! its validation: each mistake is reported as one line before any work starts.

use crate::nn::VggPooling;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// How the optimised image starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// The ImageNet mean colour plus N(0, 0.001^2) noise in the network's normalised
    /// input space: jcjohnson/neural-style's `randn * 0.001` in Caffe's mean-subtracted space.
    Random,
    /// The content image.
    Content,
    /// Another image, resized to the content's size.
    Image(PathBuf),
}

impl Init {
    /// `random`, `content` (or `image`, the reference's name), or a path.
    pub fn parse(s: &str) -> Init {
        match s {
            "random" => Init::Random,
            "content" | "image" => Init::Content,
            path => Init::Image(PathBuf::from(path)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    Lbfgs,
    Adam,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Lbfgs => "lbfgs",
            OptimizerKind::Adam => "adam",
        }
    }
}

/// Defaults follow jcjohnson/neural-style; the loss weights are rescaled for our units
/// (see `cli::stylize` for the reasoning).
pub mod defaults {
    pub const ALPHA: f64 = 1.0;
    pub const BETA: f64 = 1e5;
    pub const TV_WEIGHT: f64 = 1e2;
    pub const CONTENT_LAYERS: &str = "relu4_2";
    pub const STYLE_LAYERS: &str = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1";
    pub const IMAGE_SIZE: usize = 512;
    pub const ITERATIONS: usize = 1000;
    /// 10 in the reference's 0-256 pixel units.
    pub const LEARNING_RATE: f64 = 10.0 / 256.0;
    pub const LBFGS_HISTORY: usize = 100;
    pub const PRINT_EVERY: usize = 50;
    pub const SAVE_EVERY: usize = 100;
}

#[derive(Clone, Debug)]
pub struct StyleOptions {
    pub content: PathBuf,
    pub styles: Vec<PathBuf>,
    pub output: PathBuf,
    /// Content weight.
    pub alpha: f64,
    /// Style weight.
    pub beta: f64,
    pub tv_weight: f64,
    pub content_layers: Vec<String>,
    pub style_layers: Vec<String>,
    /// One weight per style layer; None: 1 each.
    pub style_layer_weights: Option<Vec<f64>>,
    /// One weight per style image, normalised to sum to 1; None: equal.
    pub style_blend_weights: Option<Vec<f64>>,
    /// Style images are resized to a long side of style_scale * image_size.
    pub style_scale: f64,
    /// Long side of the output, in pixels.
    pub image_size: usize,
    pub pooling: VggPooling,
    pub init: Init,
    pub optimizer: OptimizerKind,
    /// Adam's step size, in [0, 1] pixel units.
    pub learning_rate: f64,
    /// Optimiser iterations per scale. With the L-BFGS line search this bounds the loss
    /// evaluations (forward + backward passes), as the reference counts its iterations.
    pub iterations: usize,
    pub original_colors: bool,
    pub seed: u64,
    /// 0: never.
    pub print_every: usize,
    /// 0: never.
    pub save_every: usize,
    /// Number of resolutions, coarse to fine, each half the next (1: a single one).
    pub scales: usize,
    /// VGG-19 weights (safetensors); None: the default cache location.
    pub vgg: Option<PathBuf>,
    pub lbfgs_history: usize,
    /// Strong-Wolfe line search in L-BFGS (PyTorch's `line_search_fn="strong_wolfe"`).
    /// On by default: without it (the reference's choice) the second step from the
    /// near-uniform random start can be huge and leave L-BFGS stuck (seen with real VGG-19
    /// weights at 256 px).
    pub line_search: bool,
    /// Show a progress bar (it hides itself anyway when stderr is not a terminal).
    pub progress: bool,
}

impl StyleOptions {
    /// Options with the defaults for the given images.
    pub fn new(
        content: impl Into<PathBuf>,
        styles: Vec<PathBuf>,
        output: impl Into<PathBuf>,
    ) -> StyleOptions {
        use defaults::*;
        StyleOptions {
            content: content.into(),
            styles,
            output: output.into(),
            alpha: ALPHA,
            beta: BETA,
            tv_weight: TV_WEIGHT,
            content_layers: split_list(CONTENT_LAYERS),
            style_layers: split_list(STYLE_LAYERS),
            style_layer_weights: None,
            style_blend_weights: None,
            style_scale: 1.0,
            image_size: IMAGE_SIZE,
            pooling: VggPooling::Max,
            init: Init::Random,
            optimizer: OptimizerKind::Lbfgs,
            learning_rate: LEARNING_RATE,
            iterations: ITERATIONS,
            original_colors: false,
            seed: 0,
            print_every: PRINT_EVERY,
            save_every: SAVE_EVERY,
            scales: 1,
            vgg: None,
            lbfgs_history: LBFGS_HISTORY,
            line_search: true,
            progress: true,
        }
    }

    /// Checks everything that can be checked without reading a file.
    pub fn validate(&self) -> Result<()> {
        if self.styles.is_empty() {
            bail!("no style image given (--style IMG[,IMG...])");
        }
        for (name, v) in [("--alpha", self.alpha), ("--beta", self.beta), ("--tv-weight", self.tv_weight)] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{name} must be a non-negative number, got {v}");
            }
        }
        if self.content_layers.is_empty() && self.style_layers.is_empty() {
            bail!("no content or style layer given");
        }
        for name in self.content_layers.iter().chain(&self.style_layers) {
            check_layer(name)?;
        }
        if let Some(w) = &self.style_layer_weights {
            if w.len() != self.style_layers.len() {
                bail!(
                    "--style-layer-weights has {} values for {} style layers ({})",
                    w.len(),
                    self.style_layers.len(),
                    self.style_layers.join(",")
                );
            }
            check_weights("--style-layer-weights", w)?;
        }
        if let Some(w) = &self.style_blend_weights {
            if w.len() != self.styles.len() {
                bail!("--style-blend-weights has {} values for {} style images", w.len(), self.styles.len());
            }
            check_weights("--style-blend-weights", w)?;
            if w.iter().sum::<f64>() <= 0.0 {
                bail!("--style-blend-weights must not all be zero");
            }
        }
        if !(self.style_scale.is_finite() && self.style_scale > 0.0) {
            bail!("--style-scale must be positive, got {}", self.style_scale);
        }
        if self.image_size == 0 {
            bail!("--image-size must be positive");
        }
        if self.iterations == 0 {
            bail!("--iterations must be at least 1");
        }
        if self.scales == 0 {
            bail!("--scales must be at least 1");
        }
        if self.optimizer == OptimizerKind::Adam
            && !(self.learning_rate.is_finite() && self.learning_rate > 0.0)
        {
            bail!("--learning-rate must be positive, got {}", self.learning_rate);
        }
        if self.lbfgs_history == 0 {
            bail!("--lbfgs-history must be at least 1");
        }
        Ok(())
    }

    /// Style layer weights (1 each unless given).
    pub fn layer_weights(&self) -> Vec<f64> {
        self.style_layer_weights.clone().unwrap_or_else(|| vec![1.0; self.style_layers.len()])
    }

    /// Blend weights normalised to sum to 1 (equal unless given), as the reference does.
    pub fn blend_weights(&self) -> Vec<f64> {
        let w = self.style_blend_weights.clone().unwrap_or_else(|| vec![1.0; self.styles.len()]);
        let sum: f64 = w.iter().sum();
        w.iter().map(|v| v / sum).collect()
    }
}

/// "a,b, c" -> ["a", "b", "c"]; empty items dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
}

/// Parses a comma-separated list of numbers, naming the flag in the error.
pub fn parse_numbers(flag: &str, s: &str) -> Result<Vec<f64>> {
    split_list(s)
        .iter()
        .map(|t| t.parse::<f64>().map_err(|_| anyhow::anyhow!("{flag}: `{t}` is not a number")))
        .collect()
}

fn check_weights(flag: &str, w: &[f64]) -> Result<()> {
    if let Some(v) = w.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        bail!("{flag} must be non-negative numbers, got {v}");
    }
    Ok(())
}

fn check_layer(name: &str) -> Result<()> {
    if crate::nn::Vgg19::layer_index(name).is_err() {
        bail!(
            "unknown VGG-19 layer `{name}` (layers are conv1_1, relu1_1, ..., relu5_4; pools pool1..pool5)"
        );
    }
    Ok(())
}
