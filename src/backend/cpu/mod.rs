//! The CPU reference backend (f32 and f64).

/// The CPU backend. Stateless; rayon provides the parallelism.
#[derive(Default, Debug, Clone, Copy)]
pub struct CpuBackend;
