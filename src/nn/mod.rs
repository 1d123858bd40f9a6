//! Layers and models with PyTorch's parameter names.
//!
//! A `Module` exposes its state through one visitor, `visit`, which walks parameters,
//! buffers, counters and random streams in the order of the reference `state_dict`.
//! Everything else (`named_parameters`, `state_dict`, `load_state_dict`, `rng_state`,
//! initialisation, summaries) is built on that walk, so a new layer only has to say
//! what it holds. Parameters are ordinary leaf tensors with `requires_grad` set; loading
//! replaces their contents in place, so their ids (which optimisers key on) never change.

mod activation;
mod conv;
mod dropout;
pub mod fit;
mod generator;
pub mod init;
mod norm;
mod patchgan;
mod resnet;
mod sequential;
mod state;
pub mod summary;
mod unet;
mod vgg;

pub use activation::{Activation, Pool2d};
pub use conv::{Conv2d, ConvTranspose2d};
pub use dropout::Dropout;
pub use generator::{define_g, Generator, NetG};
pub use init::Init;
pub use norm::{BatchNorm2d, InstanceNorm2d, Norm};
pub use patchgan::{
    define_d, nlayer_receptive_field, parse_netd, receptive_field, DiscriminatorKind, NLayerDiscriminator,
    PixelDiscriminator,
};
pub use resnet::{ReflectionPad2d, ResnetGenerator};
pub use sequential::Sequential;
pub use state::{StateData, StateEntry};
pub use summary::{summary, SummaryRow, SUMMARY_MODELS};
pub use unet::{netg_has_skips, parse_netg, UnetGenerator};
pub use vgg::{channel_affine, Vgg19, VggPooling, VGG19_LAYERS, VGG_MEAN, VGG_STD};

use crate::tensor::Tensor;
use anyhow::Result;
use std::cell::Cell;

/// One piece of a module's state, as `visit` reports it.
pub enum Entry<'a> {
    /// A trainable parameter and the rule that initialises it.
    Param(&'a Tensor, Init),
    /// A float buffer saved in the state dict (batch norm running statistics).
    Buffer(&'a Tensor),
    /// An integer scalar saved in the state dict as int64 (`num_batches_tracked`).
    Counter(&'a Cell<i64>),
    /// The state of a layer's random stream (dropout): not part of the reference
    /// state dict, saved separately so training resumes exactly.
    Rng(&'a Cell<u64>),
}

pub trait Module {
    fn forward(&self, x: &Tensor) -> Tensor;

    /// Calls `f(full_name, entry)` for every entry, in the reference state_dict order.
    /// `prefix` is "" or ends with '.'.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>));

    /// Training mode (batch statistics, dropout on) or eval mode.
    fn set_training(&mut self, _on: bool) {}

    /// Appends one row per layer (name, description, output shape, parameters) for an
    /// input of shape `input`, and returns the output shape. Arithmetic only: no data.
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize>;

    // ---- provided ----------------------------------------------------------------

    fn train(&mut self) {
        self.set_training(true)
    }
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// Output shape for an input shape, without computing anything.
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.summarize("", input, &mut Vec::new())
    }

    /// Trainable parameters with their reference names, in state_dict order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, e| {
            if let Entry::Param(t, _) = e {
                out.push((name.to_string(), t.clone()));
            }
        });
        out
    }

    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }

    /// Number of trainable scalars (the figure PyTorch users compare).
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|t| t.numel()).sum()
    }

    /// Turns gradient tracking of every parameter on or off (off: a frozen feature
    /// extractor, e.g. VGG in style transfer, where only the image is optimised).
    fn set_requires_grad(&self, on: bool) {
        for p in self.parameters() {
            p.set_requires_grad(on);
        }
    }
    fn freeze(&self) {
        self.set_requires_grad(false)
    }

    /// Parameters, buffers and counters with the reference names, as host data.
    fn state_dict(&self) -> Vec<StateEntry> {
        state::state_dict(self)
    }

    /// Loads every entry of the module from `entries` by name. Strict: a missing,
    /// unexpected, duplicated or mis-shaped entry is an error naming the first one, and
    /// nothing is changed unless everything matches.
    fn load_state_dict(&self, entries: &[StateEntry]) -> Result<()> {
        state::load_state_dict(self, entries)
    }

    /// Random-stream states of the dropout layers, by layer name (for exact resume).
    fn rng_state(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, e| {
            if let Entry::Rng(c) = e {
                out.push((name.to_string(), c.get()));
            }
        });
        out
    }

    /// Restores what `rng_state` returned. Every stream must be given, by name.
    fn set_rng_state(&self, state: &[(String, u64)]) -> Result<()> {
        state::set_rng_state(self, state)
    }
}
