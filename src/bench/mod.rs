//! The bench suite: every kernel on the exact layer shapes of the models (validated
//! against the CPU reference before it is timed), whole training steps and style
//! iterations, each against the limits of the device it runs on.
//!
//! Method (see docs/PERFORMANCE.md): warm-up excluded; the median and the 10th/90th
//! percentiles of many samples; inputs rotated among several buffers so caches do not
//! flatter; CUDA work timed with events, the CPU and the emulator with the wall clock.

mod cases;
pub mod kernels;
pub mod limits;
pub mod report;
pub mod shapes;
pub mod target;
pub mod timing;
pub mod whole;

pub use target::Target;
pub use timing::Stats;
