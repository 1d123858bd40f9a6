//! Reverse-mode autograd. Ops record a `Node` (the `Op` with its saved state and its input
//! tensors); `backward()` orders the graph iteratively (no recursion: deep graphs), walks it
//! in reverse and applies each op's rule from `rules.rs`, accumulating gradients by tensor id.
//! Gradients of intermediate tensors are freed as soon as they are consumed; only leaves
//! that require grad (parameters, the image of style transfer) keep theirs.

mod rules;

pub use crate::tensor::graph::{is_grad_enabled, no_grad, NoGradGuard, Op};
pub use crate::tensor::Node;

use crate::backend::Binary;
use crate::tensor::{Tensor, TensorId};
use std::collections::{HashMap, HashSet};

/// Gradients of the leaves that require grad, keyed by tensor id.
#[derive(Default)]
pub struct Gradients {
    map: HashMap<TensorId, Tensor>,
}

impl Gradients {
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.map.get(&t.id())
    }
    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.map.remove(&t.id())
    }
    pub fn insert(&mut self, t: &Tensor, g: Tensor) {
        self.map.insert(t.id(), g);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn accumulate(&mut self, id: TensorId, g: Tensor) {
        match self.map.remove(&id) {
            // A new tensor, never in place: a rule may hand the same gradient to two inputs.
            Some(prev) => {
                let sum = prev.device().binary(Binary::Add, &prev.storage(), &g.storage());
                self.map.insert(id, Tensor::from_storage(sum, prev.shape(), prev.device()));
            }
            None => {
                self.map.insert(id, g);
            }
        }
    }
}

/// Tensors reachable from `root` through recorded nodes, inputs before their users.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // (tensor, children already pushed)
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = t.node() {
            for i in &node.inputs {
                if i.requires_grad() && !seen.contains(&i.id()) {
                    stack.push((i.clone(), false));
                }
            }
        }
    }
    order
}

/// Differentiates `root` (normally a one-element loss) w.r.t. every leaf that requires grad.
pub fn backward(root: &Tensor) -> Gradients {
    let _guard = no_grad();
    let mut grads = Gradients::default();
    if !root.requires_grad() {
        return grads;
    }
    let order = topological_order(root);
    let seed = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    grads.map.insert(root.id(), seed);
    for t in order.iter().rev() {
        let Some(node) = t.node() else { continue };
        let Some(gy) = grads.map.remove(&t.id()) else { continue };
        let input_grads = rules::backward_op(node, t, &gy);
        debug_assert_eq!(input_grads.len(), node.inputs.len(), "{:?}", node.op);
        for (input, g) in node.inputs.iter().zip(input_grads) {
            if let Some(g) = g {
                if input.requires_grad() {
                    assert_eq!(
                        g.shape(),
                        input.shape(),
                        "backward of {:?}: gradient shape {:?} for input {:?}",
                        node.op,
                        g.shape(),
                        input.shape()
                    );
                    grads.accumulate(input.id(), g);
                }
            }
        }
    }
    grads
}

impl Tensor {
    /// Reverse-mode differentiation from this (one-element) tensor.
    pub fn backward(&self) -> Gradients {
        backward(self)
    }
}
