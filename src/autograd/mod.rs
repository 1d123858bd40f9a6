//! Reverse-mode autograd. Ops record a `Node` (the `Op` with its saved state and its input
//! tensors); `backward()` orders the graph iteratively (no recursion: deep graphs), walks it
//! in reverse and applies each op's rule from `rules.rs`, accumulating gradients by tensor id.
//! Gradients of intermediate tensors are freed as soon as they are consumed; only leaves
//! that require grad (parameters, the image of style transfer) keep theirs.

mod rules;

use crate::backend::{Binary, ConvGeom, Loss, NormGeom, PadGeom, Pool, Storage, Unary};
use crate::tensor::{Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// What made a tensor, with whatever its backward rule needs beyond the inputs.
pub enum Op {
    Unary(Unary),
    Binary(Binary),
    /// y = a x + b
    Affine(f64),
    /// y = scale * sum(x)
    Sum {
        scale: f64,
    },
    Reshape,
    Conv2d(ConvGeom),
    /// Stored as the mirrored convolution that maps the output back to the input.
    ConvTranspose2d(ConvGeom),
    AddChannelBias,
    /// Batch or instance norm with batch statistics; inputs [x] or [x, gamma, beta].
    Norm {
        g: NormGeom,
        mean: Storage,
        invstd: Storage,
    },
    /// Batch norm with running statistics; inputs [x, (gamma, beta,) mean, var].
    NormEval {
        g: NormGeom,
        eps: f64,
    },
    Cat {
        sizes: Vec<usize>,
    },
    NarrowChannels {
        c0: usize,
        count: usize,
    },
    Pool2(Pool),
    ReflectionPad(PadGeom),
    Gram,
    Loss(Loss),
    Tv,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Op::Unary(u) => return write!(f, "{u:?}"),
            Op::Binary(b) => return write!(f, "{b:?}"),
            Op::Affine(_) => "affine",
            Op::Sum { .. } => "sum",
            Op::Reshape => "reshape",
            Op::Conv2d(_) => "conv2d",
            Op::ConvTranspose2d(_) => "conv_transpose2d",
            Op::AddChannelBias => "add_channel_bias",
            Op::Norm { .. } => "norm",
            Op::NormEval { .. } => "norm_eval",
            Op::Cat { .. } => "cat_channels",
            Op::NarrowChannels { .. } => "narrow_channels",
            Op::Pool2(_) => "pool2",
            Op::ReflectionPad(_) => "reflection_pad2d",
            Op::Gram => "gram",
            Op::Loss(l) => return write!(f, "{l:?}"),
            Op::Tv => "tv",
        };
        f.write_str(name)
    }
}

pub struct Node {
    pub op: Op,
    pub inputs: Vec<Tensor>,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// While alive, ops are not recorded (inference, optimiser updates, backward itself).
pub struct NoGradGuard {
    previous: bool,
}

pub fn no_grad() -> NoGradGuard {
    let previous = GRAD_ENABLED.with(|g| g.replace(false));
    NoGradGuard { previous }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

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
