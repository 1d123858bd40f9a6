//! Parameter-free layers: activations and 2x2 pools.

use super::module::leaf_row;
use super::{Entry, Module, SummaryRow};
use crate::backend::Pool;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    /// Passes its input through (the reference's `Identity` for `--norm none`).
    Identity,
}

impl Activation {
    fn describe(self) -> String {
        match self {
            Activation::Relu => "ReLU".into(),
            Activation::LeakyRelu(s) => format!("LeakyReLU({s})"),
            Activation::Tanh => "Tanh".into(),
            Activation::Sigmoid => "Sigmoid".into(),
            Activation::Identity => "Identity".into(),
        }
    }
}

impl Module for Activation {
    fn forward(&self, x: &Tensor) -> Tensor {
        match *self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(s) => x.leaky_relu(s),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Identity => x.clone(),
        }
    }
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, Entry<'_>)) {}
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        leaf_row(prefix, self.describe(), input, 0, rows);
        input.to_vec()
    }
}

/// 2x2 pooling with stride 2 (odd trailing rows and columns dropped, as PyTorch does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool2d(pub Pool);

impl Module for Pool2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.pool2(self.0)
    }
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, Entry<'_>)) {}
    fn summarize(&self, prefix: &str, input: &[usize], rows: &mut Vec<SummaryRow>) -> Vec<usize> {
        let out = vec![input[0], input[1], input[2] / 2, input[3] / 2];
        let name = match self.0 {
            Pool::Max => "MaxPool2d(2, 2)",
            Pool::Avg => "AvgPool2d(2, 2)",
        };
        leaf_row(prefix, name.into(), &out, 0, rows);
        out
    }
}
