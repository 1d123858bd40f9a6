//! `engine info` and `engine kernels --report`: what this binary can run on, and what
//! NVRTC makes of each kernel (registers, shared memory, spills).

use crate::backend::device::{compile, probe, select};
use crate::backend::DeviceSpec;
use anyhow::{anyhow, Result};

/// What this binary can run on, and which device `--device` (`device`) selects.
pub fn run(device: DeviceSpec) -> Result<()> {
    println!(
        "engine {} ({} build)",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!("cpu: {} threads (rayon), f32 and f64", rayon::current_num_threads());
    println!("{}", probe::probe());
    let (kind, note) = select::resolve(device);
    println!("--device {device}: {}", note.unwrap_or_else(|| kind.to_string()));
    Ok(())
}

pub fn kernels_report(arch: &str) -> Result<()> {
    print!("{}", compile::report_text(arch).map_err(|e| anyhow!("{e}"))?);
    Ok(())
}
