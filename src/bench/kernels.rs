//! Kernel benches: every `Backend` primitive, forward and backward, on the shapes of
//! `shapes::table`. Each case is first checked against the CPU reference in f64 on fresh
//! random inputs (outputs poisoned with NaN on the device), and only timed if it is right:
//! a wrong kernel gets a FAILED row with its error and no time.

pub use super::cases::{cases, Case};
use super::cases::{Fill, Input, MAX_SETS, ROTATE_BYTES};
use super::limits::{measure_limits, Limits};
use super::shapes::Shape;
use super::timing::{measure, Budget, Stats};
use super::Target;
use crate::backend::cpu::CpuBackend;
use crate::backend::device::launch::launch_count;
use crate::backend::{Backend, DType, Storage};
use crate::tensor::Device;
use serde::Serialize;

/// Relative L2 error ||device - ref|| / ||ref|| allowed against the f64 reference: f32
/// arithmetic lands far below (sums of up to ~10^5 products: ~1e-6 .. 1e-5); a wrong
/// index, a race or an unwritten element lands far above.
pub const TOLERANCE: f64 = 1e-4;

/// Validation tolerance of a case: the precision's for the convolutions (tensor cores in
/// tf32 / bf16), fp32's for everything else.
pub fn tolerance(op: &str, p: crate::backend::precision::Precision) -> f64 {
    if op.starts_with("conv") {
        p.tolerance().max(TOLERANCE)
    } else {
        TOLERANCE
    }
}

/// Result of one case.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub op: String,
    pub kernels: String,
    pub shape: String,
    pub layers: Vec<String>,
    /// "ok" or "FAILED".
    pub status: String,
    /// ||device - ref|| / ||ref|| against the CPU in f64 (NaN: an unwritten element).
    pub rel_err: f64,
    pub max_abs_err: f64,
    /// The rel_err allowed (the precision's for convolutions).
    pub tolerance: f64,
    /// Kernel launches per call (device backend).
    pub launches: Option<u64>,
    pub flops: f64,
    pub bytes: f64,
    pub stats: Option<Stats>,
    pub gflops: Option<f64>,
    pub gbs: Option<f64>,
    /// Floor time / median time, the floor being the larger of the compute and memory terms.
    pub pct_of_limit: Option<f64>,
    pub bound: String,
}

impl Row {
    pub fn failed(&self) -> bool {
        self.status != "ok"
    }
}

fn fill_cpu(inp: &Input, seed: u64) -> Vec<f32> {
    let cpu = CpuBackend;
    let s = match inp.fill {
        Fill::Normal => cpu.randn(inp.len, seed, 0.0, 1.0, DType::F32),
        Fill::Positive => cpu.rand_uniform(inp.len, seed, 0.5, 2.0, DType::F32),
        Fill::Unit => cpu.rand_uniform(inp.len, seed, 0.0, 1.0, DType::F32),
    };
    cpu.to_f32(&s)
}

fn fill_on(dev: &Device, inp: &Input, seed: u64) -> Storage {
    match inp.fill {
        Fill::Normal => dev.randn(inp.len, seed, 0.0, 1.0, DType::F32),
        Fill::Positive => dev.rand_uniform(inp.len, seed, 0.5, 2.0, DType::F32),
        Fill::Unit => dev.rand_uniform(inp.len, seed, 0.0, 1.0, DType::F32),
    }
}

/// (relative L2 error, max abs error) of `got` against `want`; NaN when got has a NaN.
fn errors(got: &[f64], want: &[f64]) -> (f64, f64) {
    if got.len() != want.len() {
        return (f64::INFINITY, f64::INFINITY);
    }
    let (mut num, mut den, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(want) {
        let d = g - w;
        num += d * d;
        den += w * w;
        max = if d.is_nan() { f64::NAN } else { max.max(d.abs()) };
    }
    let rel = if den > 0.0 { (num / den).sqrt() } else { num.sqrt() };
    (rel, max)
}

/// Runs the case once on fresh inputs on the CPU in f64 and on the target in f32, with
/// the target's output memory poisoned; returns (rel err, max abs err, launches).
fn validate(case: &Case, target: &Target, seed: u64) -> (f64, f64, Option<u64>) {
    let cpu = CpuBackend;
    let data: Vec<Vec<f32>> =
        case.inputs.iter().enumerate().map(|(i, inp)| fill_cpu(inp, seed * 16 + i as u64)).collect();
    let mut reference: Vec<Storage> = data.iter().map(|d| cpu.from_f32(d, DType::F64)).collect();
    let outs = (case.run)(&cpu, DType::F64, &mut reference);
    let want: Vec<Vec<f64>> =
        outs.iter().chain(case.mutated.iter().map(|&i| &reference[i])).map(|s| cpu.to_f64(s)).collect();

    let dev = &target.device;
    let mut io: Vec<Storage> = data.iter().map(|d| dev.from_f32(d, DType::F32)).collect();
    if target.runtime.is_some() {
        // Hand the caching allocator NaN-filled buffers of the output sizes to recycle.
        let poison: Vec<Storage> = outs.iter().map(|o| dev.full(o.len(), f64::NAN, DType::F32)).collect();
        dev.synchronize();
        drop(poison);
    }
    let before = launch_count();
    let got_outs = (case.run)(&**dev, DType::F32, &mut io);
    let launches = target.runtime.is_some().then(|| launch_count() - before);
    let got: Vec<Vec<f64>> =
        got_outs.iter().chain(case.mutated.iter().map(|&i| &io[i])).map(|s| dev.to_f64(s)).collect();

    let (mut rel, mut max) = (0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(&want) {
        let (r, m) = errors(g, w);
        rel = if r.is_nan() || rel.is_nan() { f64::NAN } else { rel.max(r) };
        max = if m.is_nan() || max.is_nan() { f64::NAN } else { max.max(m) };
    }
    if got.len() != want.len() {
        rel = f64::INFINITY;
    }
    (rel, max, launches)
}

/// Validates, then (if right) times one case.
pub fn run_case(case: &Case, target: &Target, limits: &Limits, budget: &Budget, seed: u64) -> Row {
    let (rel_err, max_abs_err, launches) = validate(case, target, seed);
    let mut row = Row {
        op: case.op.clone(),
        kernels: case.kernels.to_string(),
        shape: case.shape.clone(),
        layers: case.layers.clone(),
        status: "ok".into(),
        rel_err,
        max_abs_err,
        tolerance: tolerance(&case.op, target.precision),
        launches,
        flops: case.flops,
        bytes: case.bytes,
        stats: None,
        gflops: None,
        gbs: None,
        pct_of_limit: None,
        bound: String::new(),
    };
    if rel_err.is_nan() || rel_err > row.tolerance {
        row.status = "FAILED".into();
        return row;
    }
    let set_bytes: usize = case.inputs.iter().map(|i| 4 * i.len).sum();
    let sets = if set_bytes == 0 { 1 } else { ROTATE_BYTES.div_ceil(set_bytes).clamp(2, MAX_SETS) };
    let mut io: Vec<Vec<Storage>> = (0..sets)
        .map(|s| {
            case.inputs
                .iter()
                .enumerate()
                .map(|(i, inp)| fill_on(&target.device, inp, 1_000_000 + seed * 256 + (s * 16 + i) as u64))
                .collect()
        })
        .collect();
    let dev = target.device.clone();
    let mut k = 0;
    let stats = measure(target, budget, &mut || {
        let set = &mut io[k % sets];
        k += 1;
        drop((case.run)(&*dev, DType::F32, set));
    });
    let secs = stats.median_ms / 1e3;
    let (floor_ms, bound) = limits.floor_ms(case.flops, case.bytes);
    row.gflops = Some(case.flops / secs / 1e9);
    row.gbs = Some(case.bytes / secs / 1e9);
    row.pct_of_limit = Some(100.0 * floor_ms / stats.median_ms);
    row.bound = bound.into();
    row.stats = Some(stats);
    row
}

/// Options of `engine bench kernels`.
#[derive(Clone, Debug)]
pub struct KernelOptions {
    /// Only cases whose op, shape or layer names contain this (case-insensitive).
    pub filter: Option<String>,
    pub short: bool,
}

/// Everything a kernel run produced.
#[derive(Clone, Debug, Serialize)]
pub struct KernelReport {
    pub device: String,
    /// Of the convolutions ("fp32", "tf32", "bf16").
    pub precision: String,
    pub short: bool,
    pub limits: Limits,
    pub tolerance: f64,
    pub rows: Vec<Row>,
}

impl KernelReport {
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.failed()).count()
    }
}

/// Whether a case passes the filter.
pub fn selected(case: &Case, filter: Option<&str>) -> bool {
    let Some(f) = filter else { return true };
    let f = f.to_lowercase();
    let hay = format!("{} {} {} {}", case.op, case.kernels, case.shape, case.layers.join(" ")).to_lowercase();
    f.split(',').any(|part| hay.contains(part.trim()))
}

/// Measures the limits, then validates and times every selected case; `on_row` sees each
/// row as it is made (for live output).
pub fn run(
    target: &Target,
    opts: &KernelOptions,
    shapes: &[Shape],
    on_limits: &mut dyn FnMut(&Limits),
    on_row: &mut dyn FnMut(&Row),
) -> KernelReport {
    let limits = measure_limits(target, opts.short);
    on_limits(&limits);
    let budget = if opts.short { Budget::short() } else { Budget::full() };
    let mut rows = Vec::new();
    for (i, case) in cases(shapes).iter().enumerate().filter(|(_, c)| selected(c, opts.filter.as_deref())) {
        let row = run_case(case, target, &limits, &budget, i as u64 + 1);
        on_row(&row);
        rows.push(row);
    }
    KernelReport {
        device: target.kind.to_string(),
        precision: target.precision.to_string(),
        short: opts.short,
        limits,
        tolerance: tolerance("conv2d", target.precision),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::cases::normal;
    use crate::bench::shapes;

    #[test]
    fn every_primitive_has_a_case() {
        let all = cases(&shapes::table(true));
        for op in [
            "conv2d.fwd",
            "conv2d.bwd_input",
            "conv2d.bwd_weight",
            "conv_t.fwd",
            "conv_t.bwd_input",
            "conv_t.bwd_weight",
            "bias.fwd",
            "bias.bwd",
            "norm.fwd_train",
            "norm.bwd",
            "norm.fwd_eval",
            "norm.running_update",
            "dropout.mask",
            "concat.fwd",
            "concat.bwd",
            "grad.accumulate (skip)",
            "pool.fwd.max",
            "pool.bwd.max",
            "gram.fwd",
            "gram.bwd",
            "loss.fwd.l1",
            "loss.bwd.bcewithlogits",
            "loss.fwd.mse",
            "tv.fwd",
            "tv.bwd",
            "adam.step",
            "binary.add",
            "affine",
            "mul_scalar_storage",
            "sum_all",
            "broadcast_scalar",
            "fill",
            "clone",
            "randn",
            "rand_uniform",
            "unary.fwd.tanh",
            "unary.bwd.leakyrelu(0.2)",
        ] {
            assert!(all.iter().any(|c| c.op == op), "no case for {op}");
        }
        // Shared shapes are merged: VGG's conv3_2 .. conv3_4 are one case.
        let c = all
            .iter()
            .find(|c| c.op == "conv2d.fwd" && c.layers.iter().any(|l| l.ends_with("conv3_2")))
            .unwrap();
        assert_eq!(c.layers.len(), 3, "{:?}", c.layers);
    }

    #[test]
    fn filter_matches_op_shape_or_layer() {
        let all = cases(&shapes::table(true));
        let conv = all.iter().find(|c| c.op == "conv2d.fwd").unwrap();
        assert!(
            selected(conv, Some("conv2d"))
                && selected(conv, Some("DOWN1"))
                && selected(conv, Some("gram, conv2d.fwd"))
        );
        assert!(!selected(conv, Some("adam")));
    }

    #[test]
    fn errors_catch_nan_and_scale() {
        assert!(errors(&[1.0, f64::NAN], &[1.0, 2.0]).0.is_nan());
        let (rel, max) = errors(&[1.0, 2.1], &[1.0, 2.0]);
        assert!((max - 0.1).abs() < 1e-12 && (rel - 0.1 / 5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn a_wrong_kernel_is_refused() {
        // Right on the f64 reference, 1% off on the (f32) target.
        let case = Case {
            op: "scaled".into(),
            kernels: "-",
            shape: "64".into(),
            layers: vec![],
            flops: 64.0,
            bytes: 512.0,
            inputs: vec![normal(64)],
            mutated: vec![],
            run: Box::new(|b, _, io| {
                let a = if matches!(io[0], Storage::F32(_)) { 1.01 } else { 1.0 };
                vec![b.affine(&io[0], a, 0.0)]
            }),
        };
        let limits = Limits {
            device: "cpu".into(),
            bandwidth_gbs: 10.0,
            bandwidth_method: String::new(),
            fp32_gflops: Some(10.0),
            fp32_source: String::new(),
        };
        let row = run_case(&case, &Target::cpu(), &limits, &Budget::short(), 1);
        assert!(row.failed() && row.stats.is_none(), "{row:?}");
        assert!((row.rel_err - 0.01).abs() < 1e-4, "{}", row.rel_err);
    }
}
