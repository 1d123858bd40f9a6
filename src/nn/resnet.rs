//! The reference's ResNet generator (CycleGAN's `resnet_9blocks` / `resnet_6blocks`), one
//! flat `Sequential` so the parameter names (`model.10.conv_block.1.weight`, ...) match its
//! checkpoints:
//!
//! ```text
//! 0 ReflectionPad2d(3)  1 Conv 7x7 (ngf)  2 Norm  3 ReLU
//! 4 Conv 3x3 s2 (2 ngf) 5 Norm 6 ReLU     7 Conv 3x3 s2 (4 ngf) 8 Norm 9 ReLU
//! 10 .. 10+n-1          ResnetBlock(4 ngf)
//! then ConvT 3x3 s2 op1 (2 ngf) Norm ReLU, ConvT (ngf) Norm ReLU, ReflectionPad2d(3),
//! Conv 7x7 (bias), Tanh
//! ```
//! Convolutions have a bias exactly when the norm is instance norm (`Norm::conv_bias`),
//! the last one always.

use super::init::init_parameters;
use super::module::leaf_row;
use super::{Activation, Conv2d, ConvTranspose2d, Dropout, Entry, Module, Norm, Sequential, SummaryRow};
use crate::tensor::{Device, Tensor};

/// `nn.ReflectionPad2d(pad)`: the same pad on all four sides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReflectionPad2d(pub usize);

impl Module for ReflectionPad2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.reflection_pad2d(self.0)
    }
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, Entry<'_>)) {}
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let p = self.0;
        assert!(
            input[2] > p && input[3] > p,
            "ReflectionPad2d({p}) {prefix}: input {input:?} must be larger than the pad"
        );
        let out = vec![input[0], input[1], input[2] + 2 * p, input[3] + 2 * p];
        leaf_row(prefix, format!("ReflectionPad2d({p})"), &out, 0, rows);
        out
    }
}

/// x + conv_block(x), conv_block = [pad, conv, norm, ReLU, (Dropout 0.5), pad, conv, norm].
struct ResnetBlock {
    conv_block: Sequential,
}

impl ResnetBlock {
    fn new(dim: usize, norm: Norm, dropout: bool, device: &Device) -> ResnetBlock {
        let bias = norm.conv_bias();
        let mut m = Sequential::new();
        m.push(ReflectionPad2d(1));
        m.push(Conv2d::new(dim, dim, 3, 1, 0, bias, device));
        m.push_boxed(norm.layer(dim, device));
        m.push(Activation::Relu);
        if dropout {
            m.push(Dropout::new(0.5, 0)); // seeded by init_parameters
        }
        m.push(ReflectionPad2d(1));
        m.push(Conv2d::new(dim, dim, 3, 1, 0, bias, device));
        m.push_boxed(norm.layer(dim, device));
        ResnetBlock { conv_block: m }
    }
}

impl Module for ResnetBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.add(&self.conv_block.forward(x))
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.conv_block.visit(&format!("{prefix}conv_block."), f);
    }
    fn set_training(&mut self, on: bool) {
        self.conv_block.set_training(on);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let y = self.conv_block.summarize(&format!("{prefix}conv_block."), input, rows);
        assert_eq!(y, input, "ResnetBlock {prefix}: conv_block changes the shape");
        leaf_row(prefix, "x + conv_block(x)".into(), &y, 0, rows);
        y
    }
}

pub struct ResnetGenerator {
    model: Sequential,
    pub input_nc: usize,
    pub output_nc: usize,
    pub n_blocks: usize,
    pub ngf: usize,
    pub norm: Norm,
    pub use_dropout: bool,
}

impl ResnetGenerator {
    /// `ResnetGenerator(input_nc, output_nc, ngf, norm, use_dropout, n_blocks)`, initialised
    /// from `seed` (weights N(0, 0.02), batch-norm weights N(1, 0.02), biases 0).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input_nc: usize,
        output_nc: usize,
        n_blocks: usize,
        ngf: usize,
        norm: Norm,
        use_dropout: bool,
        seed: u64,
        device: &Device,
    ) -> ResnetGenerator {
        let g = Self::zeroed(input_nc, output_nc, n_blocks, ngf, norm, use_dropout, device);
        init_parameters(&g, seed);
        g
    }

    /// The same structure with all parameters zero (to load into or to describe).
    pub fn zeroed(
        input_nc: usize,
        output_nc: usize,
        n_blocks: usize,
        ngf: usize,
        norm: Norm,
        use_dropout: bool,
        device: &Device,
    ) -> ResnetGenerator {
        let bias = norm.conv_bias();
        let mut m = Sequential::new();
        m.push(ReflectionPad2d(3));
        m.push(Conv2d::new(input_nc, ngf, 7, 1, 0, bias, device));
        m.push_boxed(norm.layer(ngf, device));
        m.push(Activation::Relu);
        for mult in [1, 2] {
            m.push(Conv2d::new(ngf * mult, ngf * mult * 2, 3, 2, 1, bias, device));
            m.push_boxed(norm.layer(ngf * mult * 2, device));
            m.push(Activation::Relu);
        }
        for _ in 0..n_blocks {
            m.push(ResnetBlock::new(ngf * 4, norm, use_dropout, device));
        }
        for mult in [4, 2] {
            m.push(ConvTranspose2d::new(ngf * mult, ngf * mult / 2, 3, 2, 1, 1, bias, device));
            m.push_boxed(norm.layer(ngf * mult / 2, device));
            m.push(Activation::Relu);
        }
        m.push(ReflectionPad2d(3));
        m.push(Conv2d::new(ngf, output_nc, 7, 1, 0, true, device));
        m.push(Activation::Tanh);
        ResnetGenerator { model: m, input_nc, output_nc, n_blocks, ngf, norm, use_dropout }
    }
}

impl Module for ResnetGenerator {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (_, c, h, w) = x.dims4();
        assert!(
            c == self.input_nc && h % 4 == 0 && w % 4 == 0 && h >= 8 && w >= 8,
            "ResnetGenerator: input {:?} needs {} channels and sides divisible by 4 (at least 8)",
            x.shape(),
            self.input_nc
        );
        self.model.forward(x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.model.visit(&format!("{prefix}model."), f);
    }
    fn set_training(&mut self, on: bool) {
        self.model.set_training(on);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        self.model.summarize(&format!("{prefix}model."), input, rows)
    }
}
