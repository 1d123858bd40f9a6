//! Kernel benches: every `Backend` primitive, forward and backward, on the shapes of
//! `shapes::table`. Each case is first checked against the CPU reference in f64 on fresh
//! random inputs (outputs poisoned with NaN on the device), and only timed if it is right:
//! a wrong kernel gets a FAILED row with its error and no time.

use super::limits::{measure_limits, Limits};
use super::shapes::{Layer, Shape};
use super::timing::{measure, Budget, Stats};
use super::Target;
use crate::backend::cpu::CpuBackend;
use crate::backend::device::launch::launch_count;
use crate::backend::{AdamStep, Backend, Binary, ConvGeom, DType, Loss, NormGeom, Storage, Unary};
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
/// Inputs are rotated among sets of at least this many bytes in all, so repeated calls
/// do not find them in cache (H100 L2: 50 MB).
const ROTATE_BYTES: usize = 256 << 20;
const MAX_SETS: usize = 8;

#[derive(Clone, Copy, Debug)]
enum Fill {
    /// N(0, 1)
    Normal,
    /// U[0.5, 2): scales, variances, second moments
    Positive,
    /// U[0, 1): BCE targets
    Unit,
}

#[derive(Clone, Copy, Debug)]
struct Input {
    len: usize,
    fill: Fill,
}

fn normal(len: usize) -> Input {
    Input { len, fill: Fill::Normal }
}
fn positive(len: usize) -> Input {
    Input { len, fill: Fill::Positive }
}
fn unit(len: usize) -> Input {
    Input { len, fill: Fill::Unit }
}

/// Runs the primitive on a backend, in a dtype (f64 on the reference), on the inputs.
type RunFn = Box<dyn Fn(&dyn Backend, DType, &mut [Storage]) -> Vec<Storage>>;

/// One primitive on one shape.
pub struct Case {
    /// "conv2d.fwd", "norm.bwd", "unary.fwd.relu", ...
    pub op: String,
    /// The kernels it launches (module/kernel).
    pub kernels: &'static str,
    pub shape: String,
    /// The model layers with this shape ("unet_256 down2").
    pub layers: Vec<String>,
    pub flops: f64,
    /// The fewest bytes the op must move: each input read once, each output written once.
    pub bytes: f64,
    inputs: Vec<Input>,
    /// Inputs updated in place, compared after the call like outputs.
    mutated: Vec<usize>,
    run: RunFn,
}

struct Cases<'a> {
    shape: &'a Shape,
    out: Vec<Case>,
}

impl Cases<'_> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        op: impl Into<String>,
        kernels: &'static str,
        flops: f64,
        elems_moved: usize,
        inputs: Vec<Input>,
        mutated: Vec<usize>,
        run: impl Fn(&dyn Backend, DType, &mut [Storage]) -> Vec<Storage> + 'static,
    ) {
        self.out.push(Case {
            op: op.into(),
            kernels,
            shape: self.shape.layer.describe(),
            layers: vec![format!("{} {}", self.shape.model, self.shape.name)],
            flops,
            bytes: 4.0 * elems_moved as f64,
            inputs,
            mutated,
            run: Box::new(run),
        });
    }
}

fn unary_name(op: Unary) -> String {
    match op {
        Unary::LeakyRelu(a) => format!("leakyrelu({a})"),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn conv_cases(c: &mut Cases, g: ConvGeom, transposed: bool, bias: bool) {
    let (x, w, y, f) = (g.x_len(), g.w_len(), g.y_len(), g.flops());
    if !transposed {
        c.add(
            "conv2d.fwd",
            "conv/conv2d_fwd",
            f,
            x + w + y,
            vec![normal(x), normal(w)],
            vec![],
            move |b, _, io| vec![b.conv2d(&io[0], &io[1], &g)],
        );
        c.add(
            "conv2d.bwd_input",
            "conv/conv2d_bwd_input",
            f,
            y + w + x,
            vec![normal(y), normal(w)],
            vec![],
            move |b, _, io| vec![b.conv2d_backward_input(&io[0], &io[1], &g)],
        );
        c.add(
            "conv2d.bwd_weight",
            "conv/conv2d_bwd_weight",
            f,
            x + y + w,
            vec![normal(x), normal(y)],
            vec![],
            move |b, _, io| vec![b.conv2d_backward_weight(&io[0], &io[1], &g)],
        );
    } else {
        // The mirrored convolution maps the transposed conv's output (g.x) to its input (g.y).
        c.add(
            "conv_t.fwd",
            "conv/conv2d_bwd_input",
            f,
            y + w + x,
            vec![normal(y), normal(w)],
            vec![],
            move |b, _, io| vec![b.conv2d_backward_input(&io[0], &io[1], &g)],
        );
        c.add(
            "conv_t.bwd_input",
            "conv/conv2d_fwd",
            f,
            x + w + y,
            vec![normal(x), normal(w)],
            vec![],
            move |b, _, io| vec![b.conv2d(&io[0], &io[1], &g)],
        );
        c.add(
            "conv_t.bwd_weight",
            "conv/conv2d_bwd_weight",
            f,
            x + y + w,
            vec![normal(x), normal(y)],
            vec![],
            move |b, _, io| vec![b.conv2d_backward_weight(&io[0], &io[1], &g)],
        );
    }
    if bias {
        let (ch, hw) = if transposed { (g.c_in, g.h * g.w) } else { (g.c_out, g.oh * g.ow) };
        let len = g.n * ch * hw;
        let n = g.n;
        c.add(
            "bias.fwd",
            "reduce/add_channel_bias",
            len as f64,
            2 * len + ch,
            vec![normal(len), normal(ch)],
            vec![],
            move |b, _, io| vec![b.add_channel_bias(&io[0], &io[1], n, ch, hw)],
        );
        c.add(
            "bias.bwd",
            "reduce/seg_partial",
            len as f64,
            len + ch,
            vec![normal(len)],
            vec![],
            move |b, _, io| vec![b.channel_sum(&io[0], n, ch, hw)],
        );
    }
}

fn norm_cases(c: &mut Cases, g: NormGeom) {
    let (len, ch, st) = (g.len(), g.c, g.stats_len());
    let eps = 1e-5;
    c.add(
        "norm.fwd_train",
        "norm/norm_stats_partial, norm_stats_finish, norm_apply",
        8.0 * len as f64,
        2 * len + 2 * ch + 2 * st,
        vec![normal(len), positive(ch), normal(ch)],
        vec![],
        move |b, _, io| {
            let (y, m, s) = b.norm_forward(&io[0], Some(&io[1]), Some(&io[2]), &g, eps);
            vec![y, m, s]
        },
    );
    let ins = vec![normal(len), normal(len), normal(st), positive(st), positive(ch)];
    c.add(
        "norm.bwd",
        "norm/norm_bwd_partial, norm_bwd_apply, norm_param_grads",
        10.0 * len as f64,
        3 * len + 3 * st + 3 * ch,
        ins,
        vec![],
        move |b, _, io| {
            let (gx, gg, gb) = b.norm_backward(&io[0], &io[1], &io[2], &io[3], Some(&io[4]), &g);
            vec![gx, gg.expect("gamma given"), gb.expect("gamma given")]
        },
    );
    let ins = vec![normal(len), normal(ch), positive(ch), positive(ch), normal(ch)];
    c.add(
        "norm.fwd_eval",
        "norm/norm_apply_eval",
        4.0 * len as f64,
        2 * len + 4 * ch,
        ins,
        vec![],
        move |b, _, io| {
            vec![b.norm_forward_eval(&io[0], &io[1], &io[2], Some(&io[3]), Some(&io[4]), &g, eps)]
        },
    );
    let count = g.count();
    c.add(
        "norm.running_update",
        "norm/norm_running",
        8.0 * st as f64,
        6 * st,
        vec![normal(st), positive(st), normal(st), positive(st)],
        vec![0, 1],
        move |b, _, io| {
            let (run, batch) = io.split_at_mut(2);
            let (rm, rv) = run.split_at_mut(1);
            b.norm_running_update(&mut rm[0], &mut rv[0], &batch[0], &batch[1], count, 0.1, eps);
            vec![]
        },
    );
}

fn tensor_cases(c: &mut Cases, len: usize) {
    let l = len as f64;
    c.add(
        "binary.add",
        "elementwise/binary",
        l,
        3 * len,
        vec![normal(len), normal(len)],
        vec![],
        |b, _, io| vec![b.binary(Binary::Add, &io[0], &io[1])],
    );
    c.add("affine", "elementwise/affine", 2.0 * l, 2 * len, vec![normal(len)], vec![], |b, _, io| {
        vec![b.affine(&io[0], 0.5, -1.0)]
    });
    c.add(
        "mul_scalar_storage",
        "elementwise/mul_scalar_dev",
        l,
        2 * len,
        vec![normal(len), normal(1)],
        vec![],
        |b, _, io| vec![b.mul_scalar_storage(&io[0], &io[1])],
    );
    c.add("sum_all", "reduce/sum_partial, sum_finish", l, len, vec![normal(len)], vec![], |b, _, io| {
        vec![b.sum_all(&io[0])]
    });
    c.add(
        "broadcast_scalar",
        "elementwise/broadcast_scalar",
        l,
        len,
        vec![normal(1)],
        vec![],
        move |b, _, io| vec![b.broadcast_scalar(&io[0], len, 0.25)],
    );
    c.add("fill", "elementwise/fill", 0.0, len, vec![], vec![], move |b, dt, _| vec![b.full(len, 1.5, dt)]);
    c.add("clone", "(device copy)", 0.0, 2 * len, vec![normal(len)], vec![], |b, _, io| {
        vec![b.clone_storage(&io[0])]
    });
    c.add("randn", "random/rand_normal", 30.0 * l, len, vec![], vec![], move |b, dt, _| {
        vec![b.randn(len, 42, 0.0, 0.02, dt)]
    });
    c.add("rand_uniform", "random/rand_uniform", 20.0 * l, len, vec![], vec![], move |b, dt, _| {
        vec![b.rand_uniform(len, 43, -1.0, 1.0, dt)]
    });
}

fn layer_cases(c: &mut Cases) {
    match c.shape.layer.clone() {
        Layer::Conv { g, transposed, bias } => conv_cases(c, g, transposed, bias),
        Layer::Norm(g) => norm_cases(c, g),
        Layer::Act { op, dims } => {
            let len: usize = dims.iter().product();
            let name = unary_name(op);
            c.add(
                format!("unary.fwd.{name}"),
                "elementwise/unary_fwd",
                len as f64,
                2 * len,
                vec![normal(len)],
                vec![],
                move |b, _, io| vec![b.unary(op, &io[0])],
            );
            // Backward reads gy and one of x or y: two reads and a write.
            c.add(
                format!("unary.bwd.{name}"),
                "elementwise/unary_bwd",
                2.0 * len as f64,
                3 * len,
                vec![normal(len), normal(len), normal(len)],
                vec![],
                move |b, _, io| vec![b.unary_backward(op, &io[0], &io[1], &io[2])],
            );
        }
        Layer::Dropout { len, p } => {
            c.add(
                "dropout.mask",
                "random/dropout_mask",
                20.0 * len as f64,
                len,
                vec![],
                vec![],
                move |b, dt, _| vec![b.dropout_mask(len, p, 7, dt)],
            );
            c.add(
                "binary.mul (dropout fwd/bwd)",
                "elementwise/binary",
                len as f64,
                3 * len,
                vec![normal(len), normal(len)],
                vec![],
                |b, _, io| vec![b.binary(Binary::Mul, &io[0], &io[1])],
            );
        }
        Layer::Concat { n, c: [a, bb], hw } => {
            let total = a + bb;
            let ins = vec![normal(n * a * hw), normal(n * bb * hw), normal(n * total * hw)];
            c.add(
                "concat.fwd",
                "layout/copy_channels x2",
                0.0,
                2 * n * total * hw,
                ins,
                vec![2],
                move |b, _, io| {
                    let (src, dst) = io.split_at_mut(2);
                    b.copy_channels(&src[0], a, 0, &mut dst[0], total, 0, a, n, hw);
                    b.copy_channels(&src[1], bb, 0, &mut dst[0], total, a, bb, n, hw);
                    vec![]
                },
            );
            // As autograd splits the gradient: a zeroed part, then a channel copy, per input.
            c.add(
                "concat.bwd",
                "elementwise/fill + layout/copy_channels, x2",
                0.0,
                2 * n * total * hw,
                vec![normal(n * total * hw)],
                vec![],
                move |b, dt, io| {
                    [(0, a), (a, bb)]
                        .into_iter()
                        .map(|(c0, cc)| {
                            let mut part = b.zeros(n * cc * hw, dt);
                            b.copy_channels(&io[0], total, c0, &mut part, cc, 0, cc, n, hw);
                            part
                        })
                        .collect()
                },
            );
            let skip = n * a * hw;
            c.add(
                "grad.accumulate (skip)",
                "elementwise/add_inplace",
                skip as f64,
                3 * skip,
                vec![normal(skip), normal(skip)],
                vec![0],
                |b, _, io| {
                    let (acc, x) = io.split_at_mut(1);
                    b.add_inplace(&mut acc[0], &x[0]);
                    vec![]
                },
            );
        }
        Layer::Pool { op, dims: [n, ch, h, w] } => {
            let (len, out) = (n * ch * h * w, n * ch * (h / 2) * (w / 2));
            let name = format!("{op:?}").to_lowercase();
            c.add(
                format!("pool.fwd.{name}"),
                "pool/pool2_fwd",
                len as f64,
                len + out,
                vec![normal(len)],
                vec![],
                move |b, _, io| vec![b.pool2(op, &io[0], n, ch, h, w)],
            );
            c.add(
                format!("pool.bwd.{name}"),
                "pool/pool2_bwd",
                len as f64,
                2 * len + out,
                vec![normal(len), normal(out)],
                vec![],
                move |b, _, io| vec![b.pool2_backward(op, &io[0], &io[1], n, ch, h, w)],
            );
        }
        Layer::Gram { n, c: ch, hw } => {
            let (x, gm) = (n * ch * hw, n * ch * ch);
            let f = 2.0 * (n * ch * ch * hw) as f64;
            c.add("gram.fwd", "gram/gram_fwd", f, x + gm, vec![normal(x)], vec![], move |b, _, io| {
                vec![b.gram(&io[0], n, ch, hw)]
            });
            c.add(
                "gram.bwd",
                "gram/gram_bwd",
                f,
                2 * x + gm,
                vec![normal(x), normal(gm)],
                vec![],
                move |b, _, io| vec![b.gram_backward(&io[0], &io[1], n, ch, hw)],
            );
        }
        Layer::Loss { op, len } => {
            let name = format!("{op:?}").to_lowercase();
            let target = if op == Loss::BceWithLogits { unit(len) } else { normal(len) };
            c.add(
                format!("loss.fwd.{name}"),
                "loss/loss_partial, reduce/sum_finish",
                3.0 * len as f64,
                2 * len,
                vec![normal(len), target],
                vec![],
                move |b, _, io| vec![b.loss(op, &io[0], &io[1])],
            );
            c.add(
                format!("loss.bwd.{name}"),
                "loss/loss_bwd",
                3.0 * len as f64,
                3 * len,
                vec![normal(len), target, normal(1)],
                vec![],
                move |b, _, io| vec![b.loss_backward(op, &io[0], &io[1], &io[2])],
            );
        }
        Layer::Tv { dims: [n, ch, h, w] } => {
            let len = n * ch * h * w;
            c.add(
                "tv.fwd",
                "loss/tv_partial, reduce/sum_finish",
                6.0 * len as f64,
                len,
                vec![normal(len)],
                vec![],
                move |b, _, io| vec![b.tv(&io[0], n, ch, h, w)],
            );
            c.add(
                "tv.bwd",
                "loss/tv_bwd",
                8.0 * len as f64,
                2 * len,
                vec![normal(len), normal(1)],
                vec![],
                move |b, _, io| vec![b.tv_backward(&io[0], &io[1], n, ch, h, w)],
            );
        }
        Layer::Adam { len } => {
            let h = AdamStep { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 10 };
            let ins = vec![normal(len), normal(len), normal(len), positive(len)];
            c.add(
                "adam.step",
                "adam/adam_step",
                12.0 * len as f64,
                7 * len,
                ins,
                vec![0, 2, 3],
                move |b, _, io| {
                    let (p, rest) = io.split_at_mut(1);
                    let (g, mv) = rest.split_at_mut(1);
                    let (m, v) = mv.split_at_mut(1);
                    b.adam_step(&mut p[0], &g[0], &mut m[0], &mut v[0], &h);
                    vec![]
                },
            );
        }
        Layer::Tensor { len } => tensor_cases(c, len),
    }
}

/// The cases of a table, one per (primitive, shape); layers sharing a shape share a case.
pub fn cases(shapes: &[Shape]) -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for shape in shapes {
        let mut c = Cases { shape, out: Vec::new() };
        layer_cases(&mut c);
        for case in c.out {
            match out.iter_mut().find(|o| o.op == case.op && o.shape == case.shape) {
                Some(o) => o.layers.extend(case.layers),
                None => out.push(case),
            }
        }
    }
    out
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
