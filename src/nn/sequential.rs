//! `Sequential`: children named by their index, as PyTorch's `nn.Sequential`.

use super::{Entry, Module, SummaryRow};
use crate::tensor::Tensor;

#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new() -> Sequential {
        Sequential { layers: Vec::new() }
    }
    pub fn push(&mut self, m: impl Module + 'static) {
        self.layers.push(Box::new(m));
    }
    pub fn push_boxed(&mut self, m: Box<dyn Module>) {
        self.layers.push(m);
    }
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
    /// Runs layers `start..` on x.
    pub fn forward_from(&self, start: usize, x: &Tensor) -> Tensor {
        let mut h = x.clone();
        for l in &self.layers[start..] {
            h = l.forward(&h);
        }
        h
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_from(0, x)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'_>)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&format!("{prefix}{i}."), f);
        }
    }
    fn set_training(&mut self, on: bool) {
        for l in &mut self.layers {
            l.set_training(on);
        }
    }
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let mut shape = input.to_vec();
        for (i, l) in self.layers.iter().enumerate() {
            shape = l.summarize(&format!("{prefix}{i}."), &shape, rows);
        }
        shape
    }
}
