//! Dropout with a restorable random stream: each training forward draws a fresh mask
//! seed from the layer's state (SplitMix64 steps), so a run resumed from a saved
//! `rng_state` draws the very same masks.

use super::init::splitmix64;
use super::module::leaf_row;
use super::{Entry, Module, SummaryRow};
use crate::tensor::Tensor;
use std::cell::Cell;

pub struct Dropout {
    pub p: f64,
    /// The stream state; advanced once per training forward.
    state: Cell<u64>,
    pub training: bool,
}

impl Dropout {
    pub fn new(p: f64, seed: u64) -> Dropout {
        assert!((0.0..1.0).contains(&p), "Dropout: p = {p} must be in [0, 1)");
        Dropout { p, state: Cell::new(seed), training: true }
    }

    /// The mask seed of the next training forward; advances the stream.
    pub fn next_seed(&self) -> u64 {
        let s = self.state.get();
        self.state.set(s.wrapping_add(0x9E37_79B9_7F4A_7C15));
        splitmix64(s)
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        if self.training && self.p > 0.0 {
            x.dropout(self.p, self.next_seed())
        } else {
            x.clone()
        }
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        f(prefix.trim_end_matches('.'), Entry::Rng(&self.state));
    }
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        leaf_row(prefix, format!("Dropout({})", self.p), input, 0, rows);
        input.to_vec()
    }
}
