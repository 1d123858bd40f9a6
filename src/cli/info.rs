//! `engine info` and `engine kernels --report`: what this binary can run on, and what
//! NVRTC makes of each kernel (registers, shared memory, spills).

use crate::backend::device::{compile, probe, sass, select};
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

pub fn kernels_report(arch: &str, sass: bool) -> Result<()> {
    print!("{}", compile::report_text(arch).map_err(|e| anyhow!("{e}"))?);
    if sass {
        match sass::sass_report(arch).map_err(|e| anyhow!("{e}"))? {
            Some(counts) => print!("\nSASS ({arch}, cuobjdump):\n{}", sass::format_sass(&counts)),
            None => println!(
                "\nskipped SASS counts: no cuobjdump found (pip install nvidia-cuda-cuobjdump \
                 nvidia-cuda-nvdisasm; ENGINE_CUOBJDUMP=<program>)"
            ),
        }
    }
    Ok(())
}
