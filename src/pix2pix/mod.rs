//! pix2pix (Isola et al.): data, preprocessing, pages; models and training live beside.

pub mod ablate;
pub mod arch_check;
pub mod checkpoint;
pub mod combine;
pub mod compare;
pub mod dataset;
pub mod eval;
pub mod fetch;
pub mod html;
pub mod model;
pub mod options;
pub mod preprocess;
pub mod rng;
pub mod synth;
pub mod test;
pub mod train;
pub mod validate;
