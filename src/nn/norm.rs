//! BatchNorm2d and InstanceNorm2d, and the `Norm` choice of the pix2pix models.

use super::activation::Activation;
use super::conv::param;
use super::module::leaf_row;
use super::{Entry, Init, Module, SummaryRow};
use crate::backend::DType;
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;

/// The `--norm` of pix2pix: which normalisation the models use (serialised as `Batch`,
/// `Instance`, `None` in checkpoint metadata and train_opt.json).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Norm {
    /// BatchNorm2d(affine, running statistics).
    Batch,
    /// InstanceNorm2d(affine = false, track_running_stats = false): no state.
    Instance,
    /// No normalisation (an Identity layer keeps the reference's indices).
    None,
}

impl Norm {
    pub const NAMES: &'static [&'static str] = &["batch", "instance", "none"];

    pub fn parse(s: &str) -> Result<Norm> {
        match s {
            "batch" => Ok(Norm::Batch),
            "instance" => Ok(Norm::Instance),
            "none" => Ok(Norm::None),
            _ => bail!("unknown norm `{s}` (expected batch, instance or none)"),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Norm::Batch => "batch",
            Norm::Instance => "instance",
            Norm::None => "none",
        }
    }
    /// The reference gives convolutions followed by a norm a bias only with instance
    /// norm (`use_bias = norm_layer == nn.InstanceNorm2d`): batch norm's beta makes it
    /// redundant; with `none` the reference also leaves it out, and so do we, so its
    /// checkpoints load.
    pub fn conv_bias(self) -> bool {
        self == Norm::Instance
    }
    /// The layer for `c` channels.
    pub fn layer(self, c: usize, device: &Device) -> Box<dyn Module> {
        match self {
            Norm::Batch => Box::new(BatchNorm2d::new(c, device)),
            Norm::Instance => Box::new(InstanceNorm2d::new(c, false, device)),
            Norm::None => Box::new(Activation::Identity),
        }
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub struct BatchNorm2d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    /// Training steps taken (PyTorch's int64 `num_batches_tracked`).
    pub num_batches_tracked: Cell<i64>,
    pub momentum: f64,
    pub eps: f64,
    pub training: bool,
}

impl BatchNorm2d {
    pub fn new(c: usize, device: &Device) -> BatchNorm2d {
        BatchNorm2d {
            weight: param(&[c], device),
            bias: param(&[c], device),
            running_mean: Tensor::zeros(&[c], DType::F32, device),
            running_var: Tensor::full(&[c], 1.0, DType::F32, device),
            num_batches_tracked: Cell::new(0),
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        }
    }
}

impl Module for BatchNorm2d {
    /// Training: batch statistics, running statistics updated in place (also under
    /// `no_grad`, as in PyTorch). Eval: running statistics.
    fn forward(&self, x: &Tensor) -> Tensor {
        if self.training {
            self.num_batches_tracked.set(self.num_batches_tracked.get() + 1);
            x.batch_norm_train(
                Some(&self.weight),
                Some(&self.bias),
                Some((&self.running_mean, &self.running_var)),
                self.momentum,
                self.eps,
            )
        } else {
            x.batch_norm_eval(
                Some(&self.weight),
                Some(&self.bias),
                &self.running_mean,
                &self.running_var,
                self.eps,
            )
        }
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        f(&format!("{prefix}weight"), Entry::Param(&self.weight, Init::NORM_WEIGHT));
        f(&format!("{prefix}bias"), Entry::Param(&self.bias, Init::BIAS));
        f(&format!("{prefix}running_mean"), Entry::Buffer(&self.running_mean));
        f(&format!("{prefix}running_var"), Entry::Buffer(&self.running_var));
        f(&format!("{prefix}num_batches_tracked"), Entry::Counter(&self.num_batches_tracked));
    }
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let c = self.weight.numel();
        assert_eq!(input[1], c, "BatchNorm2d {prefix}: input {input:?}, expected {c} channels");
        leaf_row(prefix, format!("BatchNorm2d({c})"), input, 2 * c, rows);
        input.to_vec()
    }
}

/// Per-sample, per-channel normalisation; never keeps running statistics, so train and
/// eval behave the same (the reference's `track_running_stats=False`).
pub struct InstanceNorm2d {
    pub channels: usize,
    /// (weight, bias) when affine.
    pub affine: Option<(Tensor, Tensor)>,
    pub eps: f64,
}

impl InstanceNorm2d {
    pub fn new(c: usize, affine: bool, device: &Device) -> InstanceNorm2d {
        InstanceNorm2d {
            channels: c,
            affine: affine.then(|| (param(&[c], device), param(&[c], device))),
            eps: 1e-5,
        }
    }
}

impl Module for InstanceNorm2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (g, b) = match &self.affine {
            Some((g, b)) => (Some(g), Some(b)),
            None => (None, None),
        };
        x.instance_norm(g, b, self.eps)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        if let Some((g, b)) = &self.affine {
            // PyTorch initialises an affine InstanceNorm2d to weight 1, bias 0.
            f(&format!("{prefix}weight"), Entry::Param(g, Init::Ones));
            f(&format!("{prefix}bias"), Entry::Param(b, Init::BIAS));
        }
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let c = self.channels;
        assert_eq!(input[1], c, "InstanceNorm2d {prefix}: input {input:?}, expected {c} channels");
        let params = if self.affine.is_some() { 2 * c } else { 0 };
        leaf_row(prefix, format!("InstanceNorm2d({c})"), input, params, rows);
        input.to_vec()
    }
}
