//! Conv2d (weight OIHW) and ConvTranspose2d (weight IOHW), square kernels, optional bias.

use super::module::leaf_row;
use super::{Entry, Init, Module, SummaryRow};
use crate::backend::DType;
use crate::tensor::{Device, Tensor};

/// A zero-filled trainable leaf (filled later by `init::init_parameters` or a load).
pub(super) fn param(shape: &[usize], device: &Device) -> Tensor {
    let t = Tensor::zeros(shape, DType::F32, device);
    t.set_requires_grad(true);
    t
}

fn conv_out(size: usize, k: usize, stride: usize, pad: usize) -> usize {
    (size + 2 * pad - k) / stride + 1
}

fn bias_count(b: &Option<Tensor>) -> usize {
    b.as_ref().map_or(0, |b| b.numel())
}

pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub pad: usize,
    /// Rule used by `init::init_parameters` for the weight (N(0, 0.02) unless changed).
    pub weight_init: Init,
}

impl Conv2d {
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
        device: &Device,
    ) -> Conv2d {
        Conv2d {
            weight: param(&[c_out, c_in, k, k], device),
            bias: bias.then(|| param(&[c_out], device)),
            stride,
            pad,
            weight_init: Init::CONV,
        }
    }
    pub fn with_init(mut self, init: Init) -> Conv2d {
        self.weight_init = init;
        self
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(&self.weight, self.bias.as_ref(), self.stride, self.pad)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        f(&format!("{prefix}weight"), Entry::Param(&self.weight, self.weight_init));
        if let Some(b) = &self.bias {
            f(&format!("{prefix}bias"), Entry::Param(b, Init::BIAS));
        }
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let (o, i, k, _) = self.weight.dims4();
        assert_eq!(input[1], i, "Conv2d {prefix}: input {input:?} has {} channels, expected {i}", input[1]);
        let out = vec![
            input[0],
            o,
            conv_out(input[2], k, self.stride, self.pad),
            conv_out(input[3], k, self.stride, self.pad),
        ];
        let desc = format!(
            "Conv2d({i}, {o}, k{k}, s{}, p{}{})",
            self.stride,
            self.pad,
            if self.bias.is_some() { ", bias" } else { "" }
        );
        leaf_row(prefix, desc, &out, self.weight.numel() + bias_count(&self.bias), rows);
        out
    }
}

pub struct ConvTranspose2d {
    /// [c_in, c_out, k, k] as in PyTorch.
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
        bias: bool,
        device: &Device,
    ) -> ConvTranspose2d {
        ConvTranspose2d {
            weight: param(&[c_in, c_out, k, k], device),
            bias: bias.then(|| param(&[c_out], device)),
            stride,
            pad,
            output_padding,
        }
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.conv_transpose2d(&self.weight, self.bias.as_ref(), self.stride, self.pad, self.output_padding)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        f(&format!("{prefix}weight"), Entry::Param(&self.weight, Init::CONV));
        if let Some(b) = &self.bias {
            f(&format!("{prefix}bias"), Entry::Param(b, Init::BIAS));
        }
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let (i, o, k, _) = self.weight.dims4();
        assert_eq!(
            input[1], i,
            "ConvTranspose2d {prefix}: input {input:?} has {} channels, expected {i}",
            input[1]
        );
        let size = |s: usize| (s - 1) * self.stride + k + self.output_padding - 2 * self.pad;
        let out = vec![input[0], o, size(input[2]), size(input[3])];
        let desc = format!(
            "ConvTranspose2d({i}, {o}, k{k}, s{}, p{}{})",
            self.stride,
            self.pad,
            if self.bias.is_some() { ", bias" } else { "" }
        );
        leaf_row(prefix, desc, &out, self.weight.numel() + bias_count(&self.bias), rows);
        out
    }
}
