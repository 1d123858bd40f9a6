//! `engine info`: what this binary can run on.

use anyhow::Result;

pub fn run() -> Result<()> {
    println!("engine {}", env!("CARGO_PKG_VERSION"));
    println!("devices:");
    println!("  cpu: {} threads (rayon), f32 and f64", rayon::current_num_threads());
    Ok(())
}
