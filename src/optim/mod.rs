//! Optimisers and learning-rate schedules.

pub mod lbfgs;
pub mod schedule;

pub use lbfgs::{Lbfgs, LbfgsConfig, LbfgsFloat, LineSearch, StepOutcome, StopReason};
pub use schedule::{LrPolicy, LrScheduler};
