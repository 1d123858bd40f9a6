//! Output of the benches: terminal lines, the markdown report under target/bench/, JSON.

use super::kernels::{KernelReport, Row};
use super::limits::Limits;
use super::shapes::{format_table, Shape};
use super::whole::WholeResult;
use crate::io::atomic::write_bytes_atomic;
use anyhow::Result;
use std::path::{Path, PathBuf};

pub fn limits_text(l: &Limits) -> String {
    let fp = match l.fp32_gflops {
        Some(g) => format!("{:.1} GFLOP/s FP32 ({})", g, l.fp32_source),
        None => l.fp32_source.clone(),
    };
    format!(
        "device: {}\nmemory: {:.1} GB/s ({})\ncompute: {fp}",
        l.device, l.bandwidth_gbs, l.bandwidth_method
    )
}

pub fn row_header() -> String {
    format!(
        "{:<30} {:<38} {:>4} {:>4} {:>10} {:>21} {:>9} {:>8} {:>7} {:<6} {:>8}",
        "op",
        "shape",
        "uses",
        "lnch",
        "median ms",
        "p10 .. p90 ms",
        "GFLOP/s",
        "GB/s",
        "%limit",
        "bound",
        "rel err"
    )
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.prec$}"))
}

/// A time in ms with about three significant digits.
fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

pub fn row_line(r: &Row) -> String {
    let head = format!(
        "{:<30} {:<38} {:>4} {:>4}",
        r.op,
        r.shape,
        r.layers.len(),
        r.launches.map_or("-".into(), |l| l.to_string())
    );
    match &r.stats {
        None => format!(
            "{head} FAILED: rel err {:.2e}, max abs err {:.2e} (tolerance {:.0e}); not timed",
            r.rel_err, r.max_abs_err, r.tolerance
        ),
        Some(s) => format!(
            "{head} {:>10} {:>21} {:>9} {:>8} {:>6}% {:<6} {:>8.1e}",
            ms(s.median_ms),
            format!("{} .. {}", ms(s.p10_ms), ms(s.p90_ms)),
            opt(r.gflops, 1),
            opt(r.gbs, 1),
            opt(r.pct_of_limit, 1),
            r.bound,
            r.rel_err
        ),
    }
}

/// The markdown report of a kernel run.
pub fn kernels_markdown(rep: &KernelReport, shapes: &[Shape], date: &str) -> String {
    let l = &rep.limits;
    let mut md = format!("# Kernel benchmarks: {} ({})\n\n", l.device, rep.device);
    md += &format!(
        "Date: {date}. Table: {}. Build: engine {}.\n\n",
        if rep.short { "short (CI shapes)" } else { "full" },
        env!("CARGO_PKG_VERSION")
    );
    md += "## Limits\n\n";
    md += &format!("- Memory bandwidth: **{:.1} GB/s**, {}\n", l.bandwidth_gbs, l.bandwidth_method);
    match l.fp32_gflops {
        Some(g) => md += &format!("- FP32 compute: **{:.1} GFLOP/s**, {}\n", g, l.fp32_source),
        None => md += &format!("- FP32 compute: {}\n", l.fp32_source),
    }
    md += "\n## Method\n\n";
    md += &format!(
        "Each case runs first on fresh random inputs against the CPU reference in f64 (device outputs poisoned with NaN); \
         a case whose relative L2 error exceeds {:.0e} is FAILED and not timed. Then: one warm-up call, one calibration call, \
         then samples (CUDA events on GPU, a sample repeats the call to last >= 1 ms; wall clock on cpu/emu); inputs rotate \
         among 2-8 sets of >= 256 MiB in all. Times are per call: median and 10th/90th percentiles. \
         GFLOP/s and GB/s use the case's FLOPs and the fewest bytes it must move (inputs read once, outputs written once); \
         %limit = max(FLOPs / peak, bytes / bandwidth) / median. `lnch`: kernel launches per call.\n\n",
        rep.tolerance
    );
    let failures = rep.failures();
    md += &format!("## Results ({} cases, {} FAILED)\n\n", rep.rows.len(), failures);
    md += "| op | shape | layers | launches | median ms | p10 | p90 | GFLOP/s | GB/s | % of limit | bound | rel err |\n";
    md += "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n";
    for r in &rep.rows {
        let layers = if r.layers.len() > 3 {
            format!("{} and {} more", r.layers[..2].join(", "), r.layers.len() - 2)
        } else {
            r.layers.join(", ")
        };
        let launches = r.launches.map_or("-".into(), |l| l.to_string());
        match &r.stats {
            Some(s) => {
                md += &format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1e} |\n",
                    r.op,
                    r.shape,
                    layers,
                    launches,
                    ms(s.median_ms),
                    ms(s.p10_ms),
                    ms(s.p90_ms),
                    opt(r.gflops, 1),
                    opt(r.gbs, 1),
                    opt(r.pct_of_limit, 1),
                    r.bound,
                    r.rel_err
                )
            }
            None => {
                md += &format!(
                    "| {} | {} | {} | {} | **FAILED** | | | | | | | {:.1e} |\n",
                    r.op, r.shape, layers, launches, r.rel_err
                )
            }
        }
    }
    md += "\n## Shape table\n\n```\n";
    md += &format_table(shapes);
    md += "```\n";
    md
}

pub fn whole_text(r: &WholeResult) -> String {
    let s = &r.stats;
    let mut t = format!(
        "{} on {} ({}): {} ms median (p10 {} .. p90 {}, {} samples), {:.2} {}/s, {:.1} GFLOP -> {:.3} TFLOP/s",
        r.bench,
        r.device,
        r.config,
        ms(s.median_ms),
        ms(s.p10_ms),
        ms(s.p90_ms),
        s.samples,
        r.per_second,
        r.unit,
        r.gflop,
        r.tflops
    );
    if let Some(l) = r.launches {
        t += &format!(", {l} kernel launches");
    }
    if let (Some(b), Some(what)) = (r.peak_bytes, &r.peak_what) {
        t += &format!(", peak {:.1} MiB ({what})", b as f64 / 1048576.0);
    }
    t
}

/// target/bench/<name>, or `dir/<name>` when a folder is given.
pub fn report_path(dir: Option<&Path>, name: &str) -> PathBuf {
    dir.map_or_else(|| PathBuf::from("target/bench"), Path::to_path_buf).join(name)
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes())
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86400) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
