//! `engine`: a small tensor engine with reverse-mode autograd, a CPU reference backend and
//! hand-written CUDA kernels (run on a GPU or in the host emulator), with pix2pix,
//! CycleGAN and Gatys neural style transfer on top. Dependencies point one way:
//! cli -> pix2pix/cyclegan/style -> nn/optim/io -> tensor/autograd -> backend -> kernels.

// Kernel launches and convolution geometry take many scalar parameters by nature.
#![allow(clippy::too_many_arguments)]

pub mod autograd;
pub mod backend;
pub mod bench;
pub mod check;
pub mod cli;
pub mod cyclegan;
pub mod io;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod pix2pix;
pub mod style;
pub mod tensor;

pub use autograd::{no_grad, Gradients};
pub use backend::DType;
pub use tensor::{Device, Tensor};
