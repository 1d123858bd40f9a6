//! `--netg`: the reference's `define_G` choices (unet_N, resnet_9blocks, resnet_6blocks) and
//! one `Generator` type for every app that holds a G.

use super::init::init_parameters;
use super::resnet::ResnetGenerator;
use super::unet::{parse_netg, UnetGenerator};
use super::{Entry, Module, Norm, SummaryRow};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Result};

/// A parsed `--netg` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetG {
    Unet {
        num_downs: usize,
    },
    /// The U-Net without its skip connections (the paper's encoder-decoder).
    EncoderDecoder {
        num_downs: usize,
    },
    Resnet {
        n_blocks: usize,
    },
}

impl NetG {
    pub fn parse(name: &str) -> Result<NetG> {
        match name {
            "resnet_9blocks" => Ok(NetG::Resnet { n_blocks: 9 }),
            "resnet_6blocks" => Ok(NetG::Resnet { n_blocks: 6 }),
            _ if name.starts_with("unet_") => Ok(NetG::Unet { num_downs: parse_netg(name)? }),
            _ if name.starts_with("encoder_decoder_") => {
                Ok(NetG::EncoderDecoder { num_downs: parse_netg(name)? })
            }
            _ => bail!(
                "unknown generator `{name}` (expected resnet_9blocks, resnet_6blocks unet_N or encoder_decoder_N with N a power of two, at least 32: unet_256, unet_128, ...)"
            ),
        }
    }

    /// Input sides must be multiples of this: 2^num_downs for a U-Net, 4 for a ResNet
    /// (two stride-2 downsamplings, as the reference's `make_power_2(base=4)` assumes).
    pub fn multiple(self) -> usize {
        match self {
            NetG::Unet { num_downs } | NetG::EncoderDecoder { num_downs } => 1 << num_downs,
            NetG::Resnet { .. } => 4,
        }
    }

    /// The side the reference names the model for (unet_256: 256; resnet_9blocks: 256,
    /// resnet_6blocks: 128).
    pub fn natural_size(self) -> usize {
        match self {
            NetG::Unet { num_downs } | NetG::EncoderDecoder { num_downs } => 1 << num_downs,
            NetG::Resnet { n_blocks } => {
                if n_blocks >= 9 {
                    256
                } else {
                    128
                }
            }
        }
    }

    /// The smallest input side the structure accepts.
    pub fn min_size(self) -> usize {
        match self {
            NetG::Unet { num_downs } | NetG::EncoderDecoder { num_downs } => 1 << num_downs,
            NetG::Resnet { .. } => 8,
        }
    }
}

pub enum Generator {
    Unet(UnetGenerator),
    Resnet(ResnetGenerator),
}

/// The reference's `define_G(input_nc, output_nc, ngf, netG, norm, use_dropout)`, initialised
/// from `seed`.
#[allow(clippy::too_many_arguments)]
pub fn define_g(
    netg: &str,
    input_nc: usize,
    output_nc: usize,
    ngf: usize,
    norm: Norm,
    use_dropout: bool,
    seed: u64,
    device: &Device,
) -> Result<Generator> {
    Ok(match NetG::parse(netg)? {
        NetG::Unet { num_downs } => Generator::Unet(UnetGenerator::new(
            input_nc,
            output_nc,
            num_downs,
            ngf,
            norm,
            use_dropout,
            seed,
            device,
        )),
        NetG::EncoderDecoder { num_downs } => {
            let g =
                UnetGenerator::build(input_nc, output_nc, num_downs, ngf, norm, use_dropout, false, device);
            init_parameters(&g, seed);
            Generator::Unet(g)
        }
        NetG::Resnet { n_blocks } => Generator::Resnet(ResnetGenerator::new(
            input_nc,
            output_nc,
            n_blocks,
            ngf,
            norm,
            use_dropout,
            seed,
            device,
        )),
    })
}

impl Generator {
    fn inner(&self) -> &dyn Module {
        match self {
            Generator::Unet(g) => g,
            Generator::Resnet(g) => g,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn Module {
        match self {
            Generator::Unet(g) => g,
            Generator::Resnet(g) => g,
        }
    }
    pub fn netg(&self) -> NetG {
        match self {
            Generator::Unet(g) if !g.skips => NetG::EncoderDecoder { num_downs: g.num_downs },
            Generator::Unet(g) => NetG::Unet { num_downs: g.num_downs },
            Generator::Resnet(g) => NetG::Resnet { n_blocks: g.n_blocks },
        }
    }
}

impl Module for Generator {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.inner().forward(x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        self.inner().visit(prefix, f)
    }
    fn set_training(&mut self, on: bool) {
        self.inner_mut().set_training(on)
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        self.inner().summarize(prefix, input, rows)
    }
}
