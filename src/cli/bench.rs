//! `engine bench kernels | pix2pix-step | style-iter | unet-forward`.

use crate::backend::DeviceSpec;
use crate::bench::kernels::{self, KernelOptions};
use crate::bench::whole::{self, Reps, WholeResult};
use crate::bench::{report, shapes, Target};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Every kernel on the layer shapes of U-Net 256, PatchGAN n3 and VGG-19 (256, 512):
    /// validated against the CPU reference, then timed against the device's limits.
    Kernels(KernelArgs),
    /// One pix2pix training step (G and D forward, backward, Adam), batch 1.
    #[command(name = "pix2pix-step")]
    Pix2pixStep(StepArgs),
    /// One neural-style iteration: VGG-19 to relu5_1, losses, gradient w.r.t. the image.
    #[command(name = "style-iter")]
    StyleIter(StyleArgs),
    /// The U-Net generator forward pass (eval, no grad), batch 1.
    #[command(name = "unet-forward")]
    UnetForward(StepArgs),
}

#[derive(Args, Debug)]
pub struct KernelArgs {
    /// Only cases whose op, kernel, shape or layer contains one of these comma-separated words.
    #[arg(long)]
    pub filter: Option<String>,
    /// Also write the results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Small shapes (CI, the emulator).
    #[arg(long)]
    pub short: bool,
    /// Print the shape table and exit.
    #[arg(long)]
    pub shapes: bool,
    /// Folder of the markdown report (default target/bench).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StepArgs {
    /// Image side (default 256; 32 with --short).
    #[arg(long)]
    pub size: Option<usize>,
    /// Generator (default unet_256; unet_32 with --short).
    #[arg(long)]
    pub netg: Option<String>,
    /// Timed calls (default 20 on CUDA, 5 elsewhere, 3 with --short).
    #[arg(long)]
    pub iters: Option<usize>,
    /// Untimed calls first.
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Small and quick (CI).
    #[arg(long)]
    pub short: bool,
    /// Also write the result as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StyleArgs {
    /// Image sides (default 256 and 512; 32 with --short).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub size: Vec<usize>,
    #[arg(long)]
    pub iters: Option<usize>,
    #[arg(long)]
    pub warmup: Option<usize>,
    #[arg(long)]
    pub short: bool,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(args: &BenchArgs, device: DeviceSpec, precision: Option<&str>) -> Result<()> {
    match &args.what {
        BenchCommand::Kernels(k) => run_kernels(k, device, precision),
        BenchCommand::Pix2pixStep(s) => {
            let (target, reps) = open(device, precision, s.short, s.iters, s.warmup)?;
            let netg = s.netg.clone().unwrap_or_else(|| if s.short { "unet_32" } else { "unet_256" }.into());
            let r =
                whole::pix2pix_step(&target, &netg, s.size.unwrap_or(if s.short { 32 } else { 256 }), reps)?;
            finish(&[r], s.json.as_deref())
        }
        BenchCommand::UnetForward(s) => {
            let (target, reps) = open(device, precision, s.short, s.iters, s.warmup)?;
            let netg = s.netg.clone().unwrap_or_else(|| if s.short { "unet_32" } else { "unet_256" }.into());
            let r =
                whole::unet_forward(&target, &netg, s.size.unwrap_or(if s.short { 32 } else { 256 }), reps)?;
            finish(&[r], s.json.as_deref())
        }
        BenchCommand::StyleIter(s) => {
            let (target, reps) = open(device, precision, s.short, s.iters, s.warmup)?;
            let sizes = if !s.size.is_empty() {
                s.size.clone()
            } else if s.short {
                vec![32]
            } else {
                vec![256, 512]
            };
            let mut out = Vec::new();
            for size in sizes {
                let r = whole::style_iter(&target, size, reps)?;
                println!("{}", report::whole_text(&r));
                out.push(r);
            }
            write_whole_json(&out, s.json.as_deref())
        }
    }
}

fn open(
    device: DeviceSpec,
    precision: Option<&str>,
    short: bool,
    iters: Option<usize>,
    warmup: Option<usize>,
) -> Result<(Target, Reps)> {
    let target = open_target(device, precision)?;
    let mut reps = whole::default_reps(&target, short);
    reps.iters = iters.unwrap_or(reps.iters);
    reps.warmup = warmup.unwrap_or(reps.warmup);
    if reps.iters == 0 {
        bail!("--iters must be at least 1");
    }
    Ok((target, reps))
}

fn finish(results: &[WholeResult], json: Option<&Path>) -> Result<()> {
    for r in results {
        println!("{}", report::whole_text(r));
    }
    write_whole_json(results, json)
}

fn write_whole_json(results: &[WholeResult], json: Option<&Path>) -> Result<()> {
    if let Some(path) = json {
        report::write_json(path, &results)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_kernels(k: &KernelArgs, device: DeviceSpec, precision: Option<&str>) -> Result<()> {
    let table = shapes::table(k.short);
    if k.shapes {
        print!("{}", shapes::format_table(&table));
        return Ok(());
    }
    if !kernels::cases(&table).iter().any(|c| kernels::selected(c, k.filter.as_deref())) {
        bail!("no kernel case matches --filter {}", k.filter.as_deref().unwrap_or(""));
    }
    let target = open_target(device, precision)?;
    if target.is_emu() && !k.short && k.filter.is_none() {
        eprintln!("note: the emulator runs the full shapes very slowly (hours); use --short or --filter");
    }
    let opts = KernelOptions { filter: k.filter.clone(), short: k.short };
    let rep = kernels::run(
        &target,
        &opts,
        &table,
        &mut |l| println!("{}\n\n{}", report::limits_text(l), report::row_header()),
        &mut |r| println!("{}", report::row_line(r)),
    );
    let name = format!(
        "kernels-{}{}.md",
        target.kind.to_string().replace(':', ""),
        if k.short { "-short" } else { "" }
    );
    let md_path = report::report_path(k.out_dir.as_deref(), &name);
    crate::io::atomic::write_bytes_atomic(
        &md_path,
        report::kernels_markdown(&rep, &table, &report::today()).as_bytes(),
    )?;
    println!("\n{} cases, {} FAILED; report: {}", rep.rows.len(), rep.failures(), md_path.display());
    if let Some(path) = &k.json {
        report::write_json(path, &rep)?;
        println!("json: {}", path.display());
    }
    if rep.failures() > 0 {
        bail!("{} kernel case(s) FAILED validation against the CPU reference", rep.failures());
    }
    Ok(())
}

fn open_target(device: DeviceSpec, precision: Option<&str>) -> Result<Target> {
    let kind = super::device::resolve(device);
    Target::open_with(kind, super::device::precision(precision, kind)?)
}
