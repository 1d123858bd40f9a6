//! Batch and instance norm: forward, eval, backward, running statistics (kernels/norm.cu).

use super::{dev, expect_len, MIN_SPLIT};
use crate::backend::device::launch::{grid_1d, grid_rows, split, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{NormGeom, Storage};

pub fn norm_forward(
    d: &DeviceBackend,
    x: &Storage,
    gamma: Option<&Storage>,
    beta: Option<&Storage>,
    g: &NormGeom,
    eps: f64,
) -> (Storage, Storage, Storage) {
    expect_len("norm_forward", "x", x, g.len());
    for p in gamma.iter().chain(beta.iter()) {
        expect_len("norm_forward", "gamma/beta", p, g.c);
    }
    let stats = g.stats_len();
    let (reps, rep_stride) = norm_layout(g);
    let (splits, chunk) = split(stats, g.count(), MIN_SPLIT, 1);
    let ws = d.alloc(3 * splits * stats);
    let args = Args::new().buf(dev(x)).int(stats).int(g.hw).int(reps).int(rep_stride).int(chunk).buf(&ws);
    d.run("norm", "norm_stats_partial", [stats, splits, 1], args);
    let (mean, invstd) = (d.alloc(stats), d.alloc(stats));
    let args = Args::new().buf(&ws).int(stats).int(splits).f32(eps as f32).buf(&mean).buf(&invstd);
    d.run("norm", "norm_stats_finish", grid_1d(stats), args);
    let len = g.len();
    let y = d.alloc(len);
    let args = Args::new()
        .buf(dev(x))
        .buf(&mean)
        .buf(&invstd)
        .opt(gamma.map(dev))
        .opt(beta.map(dev))
        .buf(&y)
        .int(g.c)
        .int(g.hw)
        .i32(g.instance as i32)
        .i32(gamma.is_some() as i32)
        .i32(beta.is_some() as i32);
    d.run("norm", "norm_apply", grid_rows(g.n * g.c, g.hw), args);
    (Storage::Device(y), Storage::Device(mean), Storage::Device(invstd))
}

pub fn norm_forward_eval(
    d: &DeviceBackend,
    x: &Storage,
    mean: &Storage,
    var: &Storage,
    gamma: Option<&Storage>,
    beta: Option<&Storage>,
    g: &NormGeom,
    eps: f64,
) -> Storage {
    expect_len("norm_forward_eval", "x", x, g.len());
    for p in [Some(mean), Some(var), gamma, beta].into_iter().flatten() {
        expect_len("norm_forward_eval", "statistics/gamma/beta", p, g.c);
    }
    let len = g.len();
    let y = d.alloc(len);
    let args = Args::new()
        .buf(dev(x))
        .buf(dev(mean))
        .buf(dev(var))
        .opt(gamma.map(dev))
        .opt(beta.map(dev))
        .buf(&y)
        .int(g.c)
        .int(g.hw)
        .f32(eps as f32)
        .i32(gamma.is_some() as i32)
        .i32(beta.is_some() as i32);
    d.run("norm", "norm_apply_eval", grid_rows(g.n * g.c, g.hw), args);
    Storage::Device(y)
}

pub fn norm_backward(
    d: &DeviceBackend,
    x: &Storage,
    gy: &Storage,
    mean: &Storage,
    invstd: &Storage,
    gamma: Option<&Storage>,
    g: &NormGeom,
) -> (Storage, Option<Storage>, Option<Storage>) {
    expect_len("norm_backward", "x", x, g.len());
    expect_len("norm_backward", "gy", gy, g.len());
    let stats = g.stats_len();
    expect_len("norm_backward", "mean", mean, stats);
    expect_len("norm_backward", "invstd", invstd, stats);
    if let Some(gm) = gamma {
        expect_len("norm_backward", "gamma", gm, g.c);
    }
    let (reps, rep_stride) = norm_layout(g);
    let (splits, chunk) = split(stats, g.count(), MIN_SPLIT, 1);
    // sums = [sum gy; sum gy*xhat], each of length stats.
    let sums = d.alloc(2 * stats);
    let ws = if splits > 1 { Some(d.alloc(splits * 2 * stats)) } else { None };
    let target = ws.as_ref().unwrap_or(&sums);
    let args = Args::new()
        .buf(dev(x))
        .buf(dev(gy))
        .buf(dev(mean))
        .buf(dev(invstd))
        .int(stats)
        .int(g.hw)
        .int(reps)
        .int(rep_stride)
        .int(chunk)
        .buf(target);
    d.run("norm", "norm_bwd_partial", [stats, splits, 1], args);
    if let Some(ws) = &ws {
        d.sum_splits(ws, splits, 2 * stats, 1.0, &sums);
    }
    let len = g.len();
    let gx = d.alloc(len);
    let args = Args::new()
        .buf(dev(x))
        .buf(dev(gy))
        .buf(dev(mean))
        .buf(dev(invstd))
        .opt(gamma.map(dev))
        .buf(&sums)
        .buf(&gx)
        .int(g.c)
        .int(g.hw)
        .i32(g.instance as i32)
        .int(stats)
        .f32((1.0 / g.count() as f64) as f32)
        .i32(gamma.is_some() as i32);
    d.run("norm", "norm_bwd_apply", grid_rows(g.n * g.c, g.hw), args);
    if gamma.is_none() {
        return (Storage::Device(gx), None, None);
    }
    let (ggamma, gbeta) = (d.alloc(g.c), d.alloc(g.c));
    let per_channel = if g.instance { g.n } else { 1 };
    let args = Args::new().buf(&sums).int(stats).int(g.c).int(per_channel).buf(&ggamma).buf(&gbeta);
    d.run("norm", "norm_param_grads", grid_1d(g.c), args);
    (Storage::Device(gx), Some(Storage::Device(ggamma)), Some(Storage::Device(gbeta)))
}

pub fn norm_running_update(
    d: &DeviceBackend,
    run_mean: &mut Storage,
    run_var: &mut Storage,
    mean: &Storage,
    invstd: &Storage,
    count: usize,
    momentum: f64,
    eps: f64,
) {
    let len = run_mean.len();
    expect_len("norm_running_update", "running var", run_var, len);
    expect_len("norm_running_update", "batch mean", mean, len);
    expect_len("norm_running_update", "batch invstd", invstd, len);
    let unbias = if count > 1 { count as f64 / (count - 1) as f64 } else { 1.0 };
    let args = Args::new()
        .buf(dev(run_mean))
        .buf(dev(run_var))
        .buf(dev(mean))
        .buf(dev(invstd))
        .int(len)
        .f32(momentum as f32)
        .f32(eps as f32)
        .f32(unbias as f32);
    d.run("norm", "norm_running", grid_1d(len), args);
}

/// Norm reductions: (reps, rep_stride) of the statistic layout (see kernels/norm.cu).
fn norm_layout(g: &NormGeom) -> (usize, usize) {
    if g.instance {
        (1, 0)
    } else {
        (g.n, g.c * g.hw)
    }
}
