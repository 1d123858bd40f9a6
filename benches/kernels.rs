//! `cargo bench --bench kernels [-- FILTER]`: the kernel benches in short mode (the CI
//! shapes) on ENGINE_DEVICE (default auto), validated against the CPU reference first.
//! The full table: `engine bench kernels --device D`.

use engine::backend::DeviceSpec;
use engine::bench::kernels::{self, KernelOptions};
use engine::bench::{report, shapes, Target};

fn main() {
    // cargo passes `--bench`; anything else is a filter.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let spec = std::env::var("ENGINE_DEVICE").unwrap_or_else(|_| "auto".into());
    let spec: DeviceSpec = spec.parse().unwrap_or_else(|e| panic!("ENGINE_DEVICE: {e}"));
    let target = Target::open(engine::cli::device::resolve(spec)).unwrap_or_else(|e| panic!("{e:#}"));
    let opts = KernelOptions { filter: (!filter.is_empty()).then(|| filter.join(",")), short: true };
    let table = shapes::table(true);
    let rep = kernels::run(
        &target,
        &opts,
        &table,
        &mut |l| println!("{}\n\n{}", report::limits_text(l), report::row_header()),
        &mut |r| println!("{}", report::row_line(r)),
    );
    println!("\n{} cases, {} FAILED", rep.rows.len(), rep.failures());
    if rep.failures() > 0 {
        std::process::exit(1);
    }
}
