//! The pieces of state a module holds, as its `visit` walk reports them, and the rule that
//! initialises each parameter. Below everything else in `nn/`: the state-dict code, the
//! initialiser and the `Module` trait all build on it.

use crate::tensor::Tensor;
use std::cell::Cell;

/// How a parameter is initialised (pix2pix's `init_weights(..., 'normal', 0.02)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Normal { mean: f64, std: f64 },
    Zeros,
    Ones,
}

impl Init {
    /// Convolution weights: N(0, 0.02).
    pub const CONV: Init = Init::Normal { mean: 0.0, std: 0.02 };
    /// Batch-norm weights: N(1, 0.02).
    pub const NORM_WEIGHT: Init = Init::Normal { mean: 1.0, std: 0.02 };
    /// Biases: 0.
    pub const BIAS: Init = Init::Zeros;
}

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

/// A module's `visit` walk from the root (prefix ""), as the state-dict functions take it:
/// `&|f| module.visit("", f)`.
pub type Walk<'a> = &'a dyn Fn(&mut dyn FnMut(&str, Entry<'_>));
