//! Batch and instance normalisation. x is [n, c, hw], seen as n*c rows of hw; row r has
//! channel r % c and belongs to statistic group r % c (batch) or r (instance). Sums are
//! taken per row in parallel, then folded into groups, so one code path serves both.

use super::float::{copied, for_rows_mut, per_row, same_len, sum_lanes, Elem};
use crate::backend::NormGeom;

fn group(g: &NormGeom, r: usize) -> usize {
    if g.instance {
        r
    } else {
        r % g.c
    }
}

fn check(op: &str, g: &NormGeom, x: usize, gamma: Option<usize>, beta: Option<usize>) {
    same_len(op, "x", x, "n*c*hw", g.len());
    if let Some(l) = gamma {
        same_len(op, "gamma", l, "c", g.c);
    }
    if let Some(l) = beta {
        same_len(op, "beta", l, "c", g.c);
    }
}

/// Folds per-row values into per-group sums.
fn fold_groups(g: &NormGeom, rows: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; g.stats_len()];
    for (r, v) in rows.iter().enumerate() {
        out[group(g, r)] += v;
    }
    out
}

/// y = (x - mean) * invstd * gamma + beta; `stat_of_row` picks the statistic of a row,
/// gamma/beta are per channel.
fn apply<T: Elem>(
    x: &[T],
    g: &NormGeom,
    mean: &[f64],
    invstd: &[f64],
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    stat_of_row: impl Fn(usize) -> usize + Sync + Send,
) -> Vec<T> {
    let hw = g.hw;
    let mut y = copied(x);
    for_rows_mut(&mut y, hw, |r, row| {
        let s = stat_of_row(r);
        let ch = r % g.c;
        let gm = gamma.map_or(1.0, |v| v[ch].as_f64());
        // (x - mean) * a + beta: subtracting first keeps f32 accurate when |mean| >> std.
        let (m, a) = (T::of(mean[s]), T::of(invstd[s] * gm));
        let b = beta.map_or(T::zero(), |v| v[ch]);
        row.iter_mut().for_each(|v| *v = (*v - m) * a + b);
    });
    y
}

/// Returns (y, mean, invstd) with biased variance.
pub fn forward<T: Elem>(
    x: &[T],
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    g: &NormGeom,
    eps: f64,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    check("norm_forward", g, x.len(), gamma.map(|v| v.len()), beta.map(|v| v.len()));
    let (hw, rows, count) = (g.hw, g.n * g.c, g.count() as f64);
    let row = |r: usize| &x[r * hw..(r + 1) * hw];
    // Two passes (mean, then squared deviations): exact enough in f32 for large counts.
    let sums = per_row(rows, x.len(), |r| sum_lanes(row(r), |v| v.as_f64()));
    let mean: Vec<f64> = fold_groups(g, &sums).into_iter().map(|s| s / count).collect();
    let sq = per_row(rows, x.len(), |r| {
        let m = mean[group(g, r)];
        sum_lanes(row(r), |v| (v.as_f64() - m).powi(2))
    });
    let invstd: Vec<f64> = fold_groups(g, &sq).into_iter().map(|s| 1.0 / (s / count + eps).sqrt()).collect();
    let y = apply(x, g, &mean, &invstd, gamma, beta, |r| group(g, r));
    (y, mean.into_iter().map(T::of).collect(), invstd.into_iter().map(T::of).collect())
}

/// Eval mode: running statistics of length c.
#[allow(clippy::too_many_arguments)]
pub fn forward_eval<T: Elem>(
    x: &[T],
    mean: &[T],
    var: &[T],
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    g: &NormGeom,
    eps: f64,
) -> Vec<T> {
    check("norm_forward_eval", g, x.len(), gamma.map(|v| v.len()), beta.map(|v| v.len()));
    same_len("norm_forward_eval", "mean", mean.len(), "c", g.c);
    same_len("norm_forward_eval", "var", var.len(), "c", g.c);
    let mean: Vec<f64> = mean.iter().map(|v| v.as_f64()).collect();
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v.as_f64() + eps).sqrt()).collect();
    apply(x, g, &mean, &invstd, gamma, beta, |r| r % g.c)
}

/// Full backward through the normalisation (mean and variance depend on x):
/// gx = invstd * (gamma*gy - mean(gamma*gy) - xhat * mean(gamma*gy*xhat)) per group.
#[allow(clippy::type_complexity)]
pub fn backward<T: Elem>(
    x: &[T],
    gy: &[T],
    mean: &[T],
    invstd: &[T],
    gamma: Option<&[T]>,
    g: &NormGeom,
) -> (Vec<T>, Option<Vec<T>>, Option<Vec<T>>) {
    check("norm_backward", g, x.len(), gamma.map(|v| v.len()), None);
    same_len("norm_backward", "x", x.len(), "gy", gy.len());
    same_len("norm_backward", "mean", mean.len(), "stats", g.stats_len());
    same_len("norm_backward", "invstd", invstd.len(), "stats", g.stats_len());
    let (hw, rows, count) = (g.hw, g.n * g.c, g.count() as f64);
    let mean: Vec<f64> = mean.iter().map(|v| v.as_f64()).collect();
    let invstd: Vec<f64> = invstd.iter().map(|v| v.as_f64()).collect();

    // Per row: sum gy and sum gy * xhat.
    let sums: Vec<(f64, f64)> = per_row(rows, x.len(), |r| {
        let s = group(g, r);
        let (m, is) = (mean[s], invstd[s]);
        let xs = &x[r * hw..(r + 1) * hw];
        let gs = &gy[r * hw..(r + 1) * hw];
        // Eight independent lanes, as in `sum_lanes`.
        let (mut a, mut b) = ([0.0f64; 8], [0.0f64; 8]);
        let (xc, gc) = (xs.chunks_exact(8), gs.chunks_exact(8));
        let (mut ra, mut rb) = (0.0, 0.0);
        for (xv, gv) in xc.remainder().iter().zip(gc.remainder()) {
            ra += gv.as_f64();
            rb += gv.as_f64() * (xv.as_f64() - m);
        }
        for (xv, gv) in xc.zip(gc) {
            for i in 0..8 {
                let g = gv[i].as_f64();
                a[i] += g;
                b[i] += g * (xv[i].as_f64() - m);
            }
        }
        (a.iter().sum::<f64>() + ra, is * (b.iter().sum::<f64>() + rb))
    });
    let gm = |r: usize| gamma.map_or(1.0, |v| v[r % g.c].as_f64());
    let s_dy: Vec<f64> =
        fold_groups(g, &sums.iter().enumerate().map(|(r, s)| gm(r) * s.0).collect::<Vec<_>>());
    let s_dyx: Vec<f64> =
        fold_groups(g, &sums.iter().enumerate().map(|(r, s)| gm(r) * s.1).collect::<Vec<_>>());

    let mut gx = copied(gy);
    for_rows_mut(&mut gx, hw, |r, row| {
        let s = group(g, r);
        let (m, is) = (mean[s], invstd[s]);
        let a = is * gm(r);
        let b = is * s_dy[s] / count;
        let c = is * is * s_dyx[s] / count;
        let xs = &x[r * hw..(r + 1) * hw];
        // gx = a*gy - c*(x - m) - b, in T so it vectorises.
        let (a, b, c, m) = (T::of(a), T::of(b), T::of(c), T::of(m));
        row.iter_mut().zip(xs).for_each(|(v, &xv)| *v = a * *v - c * (xv - m) - b);
    });

    let (ggamma, gbeta) = match gamma {
        Some(_) => {
            let (mut gg, mut gb) = (vec![0.0; g.c], vec![0.0; g.c]);
            for (r, (s1, s2)) in sums.iter().enumerate() {
                gb[r % g.c] += s1;
                gg[r % g.c] += s2;
            }
            (Some(gg.into_iter().map(T::of).collect()), Some(gb.into_iter().map(T::of).collect()))
        }
        None => (None, None),
    };
    (gx, ggamma, gbeta)
}

/// running = (1 - m) running + m batch; the batch variance is recovered from invstd and
/// made unbiased (count / (count - 1)) as PyTorch does.
#[allow(clippy::too_many_arguments)]
pub fn running_update<T: Elem>(
    run_mean: &mut [T],
    run_var: &mut [T],
    mean: &[T],
    invstd: &[T],
    count: usize,
    momentum: f64,
    eps: f64,
) {
    let op = "norm_running_update";
    same_len(op, "run_mean", run_mean.len(), "mean", mean.len());
    same_len(op, "run_var", run_var.len(), "invstd", invstd.len());
    same_len(op, "mean", mean.len(), "invstd", invstd.len());
    let unbias = if count > 1 { count as f64 / (count as f64 - 1.0) } else { 1.0 };
    for i in 0..mean.len() {
        let is = invstd[i].as_f64();
        let var = (1.0 / (is * is) - eps) * unbias;
        run_mean[i] = T::of((1.0 - momentum) * run_mean[i].as_f64() + momentum * mean[i].as_f64());
        run_var[i] = T::of((1.0 - momentum) * run_var[i].as_f64() + momentum * var);
    }
}
