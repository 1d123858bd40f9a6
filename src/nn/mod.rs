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
mod entry;
pub mod fit;
mod generator;
pub mod init;
mod module;
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
pub use entry::{Entry, Init};
pub use generator::{define_g, Generator, NetG};
pub use module::{Module, SummaryRow};
pub use norm::{BatchNorm2d, InstanceNorm2d, Norm};
pub use patchgan::{
    define_d, nlayer_receptive_field, parse_netd, receptive_field, DiscriminatorKind, NLayerDiscriminator,
    PixelDiscriminator,
};
pub use resnet::{ReflectionPad2d, ResnetGenerator};
pub use sequential::Sequential;
pub use state::{StateData, StateEntry};
pub use summary::{summary, SUMMARY_MODELS};
pub use unet::{netg_has_skips, parse_netg, UnetGenerator};
pub use vgg::{channel_affine, Vgg19, VggPooling, VGG19_LAYERS, VGG_MEAN, VGG_STD};
