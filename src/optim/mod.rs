//! Optimisers and learning-rate schedules. State is keyed by parameter position (the
//! order of `named_parameters()`), which is stable for a model.

pub mod adam;
pub mod lbfgs;
pub mod schedule;
pub mod sgd;

pub use adam::Adam;
pub use lbfgs::{Lbfgs, LbfgsConfig, LbfgsFloat, LineSearch, StepOutcome, StopReason};
pub use schedule::{LrPolicy, LrScheduler};
pub use sgd::Sgd;
