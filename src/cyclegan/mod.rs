//! CycleGAN (Zhu et al. 2017): unpaired translation between two image folders with the
//! reference's ResNet generators, PatchGAN discriminators, image pool, cycle and identity
//! losses. Reuses pix2pix's preprocessing, random streams, checkpoint helpers and pages
//! (pix2pix never imports this module).

pub mod checkpoint;
pub mod dataset;
pub mod model;
pub mod options;
pub mod pool;
pub mod synth;
pub mod test;
pub mod train;
pub mod validate;
