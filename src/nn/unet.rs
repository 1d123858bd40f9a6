//! The pix2pix U-Net generator, built as the reference's nested UnetSkipConnectionBlocks
//! so that parameter names (`model.model.1.model.3...`) match its checkpoints.
//!
//! Block layouts (indices are the names):
//! - outermost:    [downconv, submodule, ReLU, upconv(bias), Tanh]
//! - intermediate: [LeakyReLU, downconv, downnorm, submodule, ReLU, upconv, upnorm, (Dropout)]
//! - innermost:    [LeakyReLU, downconv, ReLU, upconv, upnorm]
//!
//! Non-outermost blocks return cat(x', model(x)). In the reference the first LeakyReLU
//! runs in place on x, so the skip x' carries LeakyReLU(x), not x; we reproduce that so
//! reference weights give reference outputs.

use super::init::init_parameters;
use super::module::leaf_row;
use super::{Activation, Conv2d, ConvTranspose2d, Dropout, Entry, Module, Norm, Sequential, SummaryRow};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Result};

/// `unet_N` or `encoder_decoder_N` -> number of downsamplings log2(N). N must be a power
/// of two >= 32 (the structure has at least five levels).
pub fn parse_netg(name: &str) -> Result<usize> {
    let n = name
        .strip_prefix("unet_")
        .or_else(|| name.strip_prefix("encoder_decoder_"))
        .and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n) if n >= 32 && n.is_power_of_two() => Ok(n.trailing_zeros() as usize),
        _ => bail!(
            "unknown generator `{name}` (expected unet_N or encoder_decoder_N with N a power of two, \
             at least 32: unet_256, unet_128, encoder_decoder_256, ...)"
        ),
    }
}

/// Whether a generator name has the U-Net's skip connections (`encoder_decoder_N` is the
/// same network without them: the paper's encoder-decoder baseline, section 4.3).
pub fn netg_has_skips(name: &str) -> bool {
    !name.starts_with("encoder_decoder_")
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Outermost,
    Intermediate { dropout: bool },
    Innermost,
}

struct UnetBlock {
    outermost: bool,
    /// Concatenate the block's input to its output (U-Net) or not (encoder-decoder).
    skip: bool,
    model: Sequential,
}

impl UnetBlock {
    fn new(
        outer_nc: usize,
        inner_nc: usize,
        input_nc: usize,
        sub: Option<UnetBlock>,
        kind: Kind,
        norm: Norm,
        skip: bool,
        device: &Device,
    ) -> UnetBlock {
        let use_bias = norm.conv_bias();
        // What the submodule returns: its output, with the skip also its input.
        let up_in = if skip { inner_nc * 2 } else { inner_nc };
        let downconv = Conv2d::new(input_nc, inner_nc, 4, 2, 1, use_bias, device);
        let mut m = Sequential::new();
        match kind {
            Kind::Outermost => {
                m.push(downconv);
                m.push(sub.expect("outermost block needs a submodule"));
                m.push(Activation::Relu);
                m.push(ConvTranspose2d::new(up_in, outer_nc, 4, 2, 1, 0, true, device));
                m.push(Activation::Tanh);
            }
            Kind::Innermost => {
                m.push(Activation::LeakyRelu(0.2));
                m.push(downconv);
                m.push(Activation::Relu);
                m.push(ConvTranspose2d::new(inner_nc, outer_nc, 4, 2, 1, 0, use_bias, device));
                m.push_boxed(norm.layer(outer_nc, device));
            }
            Kind::Intermediate { dropout } => {
                m.push(Activation::LeakyRelu(0.2));
                m.push(downconv);
                m.push_boxed(norm.layer(inner_nc, device));
                m.push(sub.expect("intermediate block needs a submodule"));
                m.push(Activation::Relu);
                m.push(ConvTranspose2d::new(up_in, outer_nc, 4, 2, 1, 0, use_bias, device));
                m.push_boxed(norm.layer(outer_nc, device));
                if dropout {
                    // Seeded for real by init_parameters.
                    m.push(Dropout::new(0.5, 0));
                }
            }
        }
        UnetBlock { outermost: kind == Kind::Outermost, skip, model: m }
    }
}

impl Module for UnetBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        if self.outermost || !self.skip {
            return self.model.forward(x);
        }
        let skip = self.model.layers[0].forward(x); // the in-place LeakyReLU, see above
        let y = self.model.forward_from(1, &skip);
        Tensor::cat_channels(&[&skip, &y])
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.model.visit(&format!("{prefix}model."), f);
    }
    fn set_training(&mut self, on: bool) {
        self.model.set_training(on);
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let y = self.model.summarize(&format!("{prefix}model."), input, rows);
        if self.outermost || !self.skip {
            return y;
        }
        assert_eq!(input[2..], y[2..], "U-Net block {prefix}: input {input:?} and output {y:?} differ in size (input not divisible by 2^num_downs?)");
        let out = vec![y[0], input[1] + y[1], y[2], y[3]];
        leaf_row(prefix, "cat(LeakyReLU(x), up)".into(), &out, 0, rows);
        out
    }
}

pub struct UnetGenerator {
    model: UnetBlock,
    pub input_nc: usize,
    pub output_nc: usize,
    pub num_downs: usize,
    pub ngf: usize,
    pub norm: Norm,
    pub use_dropout: bool,
    /// False for the encoder-decoder (no skip connections).
    pub skips: bool,
}

impl UnetGenerator {
    /// The reference `UnetGenerator(input_nc, output_nc, num_downs, ngf, norm, use_dropout)`,
    /// initialised from `seed` (weights N(0, 0.02), batch-norm weights N(1, 0.02), biases 0).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input_nc: usize,
        output_nc: usize,
        num_downs: usize,
        ngf: usize,
        norm: Norm,
        use_dropout: bool,
        seed: u64,
        device: &Device,
    ) -> UnetGenerator {
        let g = Self::zeroed(input_nc, output_nc, num_downs, ngf, norm, use_dropout, device);
        init_parameters(&g, seed);
        g
    }

    /// The same structure with all parameters zero: to load a checkpoint into, or to
    /// describe. Dropout streams are seeded with 0 until `init_parameters` or a
    /// `set_rng_state`.
    pub fn zeroed(
        input_nc: usize,
        output_nc: usize,
        num_downs: usize,
        ngf: usize,
        norm: Norm,
        use_dropout: bool,
        device: &Device,
    ) -> UnetGenerator {
        Self::build(input_nc, output_nc, num_downs, ngf, norm, use_dropout, true, device)
    }

    /// The U-Net (`skips`) or the encoder-decoder of the same depth and widths, all zero.
    pub fn build(
        input_nc: usize,
        output_nc: usize,
        num_downs: usize,
        ngf: usize,
        norm: Norm,
        use_dropout: bool,
        skips: bool,
        device: &Device,
    ) -> UnetGenerator {
        assert!(num_downs >= 5, "UnetGenerator: num_downs = {num_downs}, the structure needs at least 5");
        let mut block = UnetBlock::new(ngf * 8, ngf * 8, ngf * 8, None, Kind::Innermost, norm, skips, device);
        for _ in 0..num_downs - 5 {
            block = UnetBlock::new(
                ngf * 8,
                ngf * 8,
                ngf * 8,
                Some(block),
                Kind::Intermediate { dropout: use_dropout },
                norm,
                skips,
                device,
            );
        }
        let plain = Kind::Intermediate { dropout: false };
        block = UnetBlock::new(ngf * 4, ngf * 8, ngf * 4, Some(block), plain, norm, skips, device);
        block = UnetBlock::new(ngf * 2, ngf * 4, ngf * 2, Some(block), plain, norm, skips, device);
        block = UnetBlock::new(ngf, ngf * 2, ngf, Some(block), plain, norm, skips, device);
        let model =
            UnetBlock::new(output_nc, ngf, input_nc, Some(block), Kind::Outermost, norm, skips, device);
        UnetGenerator { model, input_nc, output_nc, num_downs, ngf, norm, use_dropout, skips }
    }

    /// Side of the square input this generator is named for (2^num_downs); any multiple works.
    pub fn natural_size(&self) -> usize {
        1 << self.num_downs
    }
}

impl Module for UnetGenerator {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (_, c, h, w) = x.dims4();
        let m = self.natural_size();
        assert!(
            c == self.input_nc && h % m == 0 && w % m == 0,
            "UnetGenerator: input {:?} needs {} channels and sides divisible by {m}",
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
