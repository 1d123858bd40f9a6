//! Optimisers and learning-rate schedules. State is keyed by parameter position (the
//! order of `named_parameters()`), which is stable for a model.

pub mod adam;
pub mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;
