//! Neural style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using
//! Convolutional Neural Networks", CVPR 2016) on VGG-19, with the options users of
//! jcjohnson/neural-style expect. The image is optimised in [0, 1] RGB pixel space; the
//! network sees it with ImageNet normalisation, as torchvision's weights expect.

pub mod budget;
pub mod colors;
pub mod losses;
pub mod options;
pub mod report;
pub mod run;
pub mod weights;

pub use losses::{FeatureNet, Objective, Weights};
pub use options::{Init, OptimizerKind, StyleOptions};
pub use report::{Losses, ScaleReport, StyleReport};
pub use run::stylize;
