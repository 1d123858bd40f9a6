//! The kernel bench's cases: every `Backend` primitive, forward and backward, on the shapes of
//! `shapes::table`, with its FLOPs, the bytes it must move, its inputs and how to run it on
//! any backend (`kernels.rs` validates and times them).

use super::shapes::{Layer, Shape};
use crate::backend::{AdamStep, Backend, Binary, ConvGeom, DType, Loss, NormGeom, Storage, Unary};

/// Inputs are rotated among sets of at least this many bytes in all, so repeated calls
/// do not find them in cache (H100 L2: 50 MB).
pub(super) const ROTATE_BYTES: usize = 256 << 20;
pub(super) const MAX_SETS: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(super) enum Fill {
    /// N(0, 1)
    Normal,
    /// U[0.5, 2): scales, variances, second moments
    Positive,
    /// U[0, 1): BCE targets
    Unit,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Input {
    pub(super) len: usize,
    pub(super) fill: Fill,
}

pub(super) fn normal(len: usize) -> Input {
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
    pub(super) inputs: Vec<Input>,
    /// Inputs updated in place, compared after the call like outputs.
    pub(super) mutated: Vec<usize>,
    pub(super) run: RunFn,
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
