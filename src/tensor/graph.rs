//! What a recorded op remembers (the `Op`, with the state its backward rule needs), and
//! whether ops are recorded at all (`no_grad`). Here, below `autograd`, because every op
//! records one; the `Node` holding it with the inputs lives beside `Tensor` (each holds the
//! other), and `autograd` walks those nodes backward.

use crate::backend::{Binary, ConvGeom, Loss, NormGeom, PadGeom, Pool, Storage, Unary};
use std::cell::Cell;

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
