//! The `Module` trait: one visitor, `visit`, walks a layer's parameters, buffers, counters
//! and random streams in the reference `state_dict` order, and everything else
//! (`named_parameters`, `state_dict`, `load_state_dict`, `rng_state`, summaries) is built on
//! that walk. Also the summary row every layer reports.

use super::entry::Entry;
use super::state::{self, StateEntry};
use crate::tensor::Tensor;
use anyhow::Result;

/// One line of a summary: a layer (or a U-Net concatenation) and what it produces.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Dotted module path, as in the parameter names ("model.model.1.model.1").
    pub name: String,
    /// What the layer is ("Conv2d(64, 128, k4, s2, p1)").
    pub layer: String,
    pub output: Vec<usize>,
    /// Trainable parameters of this layer alone.
    pub params: usize,
}

pub(crate) fn leaf_row(
    prefix: &str,
    layer: String,
    output: &[usize],
    params: usize,
    rows: &mut Vec<SummaryRow>,
) {
    rows.push(SummaryRow {
        name: prefix.trim_end_matches('.').to_string(),
        layer,
        output: output.to_vec(),
        params,
    });
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
        state::state_dict(&|f| self.visit("", f))
    }

    /// Loads every entry of the module from `entries` by name. Strict: a missing,
    /// unexpected, duplicated or mis-shaped entry is an error naming the first one, and
    /// nothing is changed unless everything matches.
    fn load_state_dict(&self, entries: &[StateEntry]) -> Result<()> {
        state::load_state_dict(&|f| self.visit("", f), entries)
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
        state::set_rng_state(&|f| self.visit("", f), state)
    }
}
