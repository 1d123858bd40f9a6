//! L-BFGS with the semantics of PyTorch's `torch.optim.LBFGS` (torch/optim/lbfgs.py):
//! the same two-loop recursion, first-step scaling, curvature check, stopping tests and
//! strong-Wolfe line search (`_strong_wolfe` / `_cubic_interpolate`), so a run here
//! follows the iterates PyTorch would produce (checked against a fixture made by torch).
//!
//! It works on one flat parameter vector; the caller supplies a closure that evaluates
//! the loss and its gradient at a point. One `step()` runs up to `max_iter` iterations
//! and keeps the history for the next call, like PyTorch's `step(closure)`.
//!
//! Two additions that never change a finite run: a NaN/infinite loss or gradient stops
//! the step (`StopReason::NonFinite`) instead of walking on with NaNs, and the reason a
//! step stopped is reported.

use rayon::prelude::*;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;

/// Element type of the parameter vector. Scalars (loss, step, dot products) are f64.
pub trait LbfgsFloat: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl LbfgsFloat for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl LbfgsFloat for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// `line_search_fn` of PyTorch: `None` or `"strong_wolfe"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearch {
    None,
    StrongWolfe,
}

/// The constructor arguments of `torch.optim.LBFGS`, with its defaults.
#[derive(Clone, Debug)]
pub struct LbfgsConfig {
    pub lr: f64,
    pub max_iter: usize,
    /// `None` means PyTorch's default `max_iter * 5 / 4`.
    pub max_eval: Option<usize>,
    pub tolerance_grad: f64,
    pub tolerance_change: f64,
    pub history_size: usize,
    pub line_search: LineSearch,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search: LineSearch::None,
        }
    }
}

impl LbfgsConfig {
    pub fn max_eval(&self) -> usize {
        self.max_eval.unwrap_or(self.max_iter * 5 / 4)
    }
}

/// Why a `step()` returned. The order of the checks is PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `max_iter` iterations done in this step.
    MaxIter,
    /// `max_eval` function evaluations done in this step.
    MaxEval,
    /// max |gradient| <= tolerance_grad: converged.
    GradTolerance,
    /// max |step| <= tolerance_change: no progress in the parameters.
    StepTolerance,
    /// |loss - previous loss| < tolerance_change: no progress in the loss.
    ChangeTolerance,
    /// gradient . direction > -tolerance_change: no descent left along the new direction
    /// (usual at the end of a converged run).
    NotDescent,
    /// The strong-Wolfe search ended at step 0 (no acceptable point along the direction).
    LineSearchFailed,
    /// The loss or the gradient became NaN or infinite.
    NonFinite,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            StopReason::MaxIter => "iteration limit reached",
            StopReason::MaxEval => "function-evaluation limit reached",
            StopReason::GradTolerance => "gradient below tolerance (converged)",
            StopReason::StepTolerance => "step below tolerance (no further progress)",
            StopReason::ChangeTolerance => "loss change below tolerance (no further progress)",
            StopReason::NotDescent => "directional derivative below tolerance (no further progress)",
            StopReason::LineSearchFailed => "line search found no acceptable step",
            StopReason::NonFinite => "loss or gradient became NaN or infinite",
        };
        f.write_str(s)
    }
}

/// What one `step()` did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    /// Loss at the start of the step (what PyTorch's `step` returns).
    pub loss: f64,
    /// Most recent loss evaluated in this step. Without line search the last iteration
    /// does not re-evaluate (as in PyTorch), so this may belong to the point before it.
    pub last_loss: f64,
    pub reason: StopReason,
    /// Iterations done in this step.
    pub iterations: usize,
    /// Closure calls made in this step.
    pub evaluations: usize,
}

/// State kept between steps (PyTorch's `self.state[param]`).
struct State<T> {
    func_evals: usize,
    n_iter: usize,
    d: Vec<T>,
    t: f64,
    old_dirs: VecDeque<Vec<T>>,
    old_stps: VecDeque<Vec<T>>,
    ro: VecDeque<f64>,
    h_diag: f64,
    prev_flat_grad: Option<Vec<T>>,
}

pub struct Lbfgs<T: LbfgsFloat> {
    config: LbfgsConfig,
    state: State<T>,
}

impl<T: LbfgsFloat> Lbfgs<T> {
    pub fn new(config: LbfgsConfig) -> Self {
        Lbfgs {
            config,
            state: State {
                func_evals: 0,
                n_iter: 0,
                d: Vec::new(),
                t: 0.0,
                old_dirs: VecDeque::new(),
                old_stps: VecDeque::new(),
                ro: VecDeque::new(),
                h_diag: 1.0,
                prev_flat_grad: None,
            },
        }
    }

    pub fn config(&self) -> &LbfgsConfig {
        &self.config
    }

    /// Total closure calls over all steps.
    pub fn func_evals(&self) -> usize {
        self.state.func_evals
    }

    /// Total iterations over all steps.
    pub fn n_iter(&self) -> usize {
        self.state.n_iter
    }

    /// Runs one PyTorch `step(closure)`: up to `max_iter` iterations, moving `x` in place.
    /// `closure(x)` returns the loss and the gradient at `x`.
    pub fn step<F>(&mut self, x: &mut [T], mut closure: F) -> StepOutcome
    where
        F: FnMut(&[T]) -> (f64, Vec<T>),
    {
        match self.try_step(x, |p| Ok::<_, Infallible>(closure(p))) {
            Ok(outcome) => outcome,
            Err(never) => match never {},
        }
    }

    /// `step` with a fallible closure; its first error ends the step and is returned.
    /// The optimiser is then mid-iteration: drop it rather than step it again.
    pub fn try_step<E, F>(&mut self, x: &mut [T], mut closure: F) -> Result<StepOutcome, E>
    where
        F: FnMut(&[T]) -> Result<(f64, Vec<T>), E>,
    {
        let n = x.len();
        let mut eval = |p: &[T]| -> Result<(f64, Vec<T>), E> {
            let (loss, grad) = closure(p)?;
            assert_eq!(grad.len(), n, "lbfgs: gradient has {} elements, parameters {}", grad.len(), n);
            Ok((loss, grad))
        };
        let cfg = self.config.clone();
        let max_eval = cfg.max_eval();

        let st = &mut self.state;
        let (mut loss, mut flat_grad) = eval(x)?;
        let orig_loss = loss;
        let mut current_evals = 1;
        st.func_evals += 1;
        let outcome = |reason, iterations, evaluations, last_loss| StepOutcome {
            loss: orig_loss,
            last_loss,
            reason,
            iterations,
            evaluations,
        };

        if !is_finite(loss, &flat_grad) {
            return Ok(outcome(StopReason::NonFinite, 0, 1, loss));
        }
        let mut opt_cond = max_abs(&flat_grad) <= cfg.tolerance_grad;
        if opt_cond {
            return Ok(outcome(StopReason::GradTolerance, 0, 1, loss));
        }

        let mut n_iter = 0;
        let reason = loop {
            if n_iter >= cfg.max_iter {
                break StopReason::MaxIter;
            }
            n_iter += 1;
            st.n_iter += 1;

            // Descent direction.
            if st.n_iter == 1 {
                st.d = flat_grad.iter().map(|&g| T::from_f64(-g.to_f64())).collect();
                st.old_dirs.clear();
                st.old_stps.clear();
                st.ro.clear();
                st.h_diag = 1.0;
            } else {
                let prev = st.prev_flat_grad.as_ref().expect("lbfgs: history without a previous gradient");
                let y: Vec<T> = sub(&flat_grad, prev);
                let s: Vec<T> = scale(&st.d, st.t);
                let ys = dot(&y, &s);
                // Curvature condition: only pairs with positive curvature enter the memory.
                if ys > 1e-10 {
                    if st.old_dirs.len() == cfg.history_size {
                        st.old_dirs.pop_front();
                        st.old_stps.pop_front();
                        st.ro.pop_front();
                    }
                    if cfg.history_size > 0 {
                        st.h_diag = ys / dot(&y, &y);
                        st.old_dirs.push_back(y);
                        st.old_stps.push_back(s);
                        st.ro.push_back(1.0 / ys);
                    }
                }
                st.d = two_loop(&flat_grad, &st.old_dirs, &st.old_stps, &st.ro, st.h_diag);
            }
            st.prev_flat_grad = Some(flat_grad.clone());
            let prev_loss = loss;

            // Step length: the first iteration ever is scaled by the gradient's L1 norm.
            st.t = if st.n_iter == 1 { pmin(1.0, 1.0 / sum_abs(&flat_grad)) * cfg.lr } else { cfg.lr };

            let gtd = dot(&flat_grad, &st.d);
            if gtd > -cfg.tolerance_change {
                break StopReason::NotDescent;
            }

            let mut ls_evals = 0;
            let mut ls_at_zero = false;
            match cfg.line_search {
                LineSearch::StrongWolfe => {
                    let mut trial = vec![T::from_f64(0.0); n];
                    let d = &st.d;
                    let x0: &[T] = x;
                    let mut obj = |t: f64| {
                        add_scaled_into(&mut trial, x0, t, d);
                        eval(&trial)
                    };
                    // PyTorch passes max_ls = max_eval - current_evals (never below 0 here).
                    let max_ls = max_eval.saturating_sub(current_evals);
                    let ls = strong_wolfe(&mut obj, st.t, d, loss, &flat_grad, gtd, max_ls)?;
                    loss = ls.f;
                    flat_grad = ls.g;
                    st.t = ls.t;
                    ls_evals = ls.evals;
                    ls_at_zero = ls.t == 0.0;
                    add_scaled(x, st.t, &st.d);
                    opt_cond = max_abs(&flat_grad) <= cfg.tolerance_grad;
                }
                LineSearch::None => {
                    add_scaled(x, st.t, &st.d);
                    // The last iteration does not re-evaluate (PyTorch: no use in a
                    // stochastic setting); the next step() starts with an evaluation.
                    if n_iter != cfg.max_iter {
                        (loss, flat_grad) = eval(x)?;
                        opt_cond = max_abs(&flat_grad) <= cfg.tolerance_grad;
                        ls_evals = 1;
                    }
                }
            }
            current_evals += ls_evals;
            st.func_evals += ls_evals;

            if ls_evals > 0 && !is_finite(loss, &flat_grad) {
                break StopReason::NonFinite;
            }
            if n_iter == cfg.max_iter {
                break StopReason::MaxIter;
            }
            if current_evals >= max_eval {
                break StopReason::MaxEval;
            }
            if opt_cond {
                break StopReason::GradTolerance;
            }
            if max_abs(&st.d) * st.t.abs() <= cfg.tolerance_change {
                break if ls_at_zero { StopReason::LineSearchFailed } else { StopReason::StepTolerance };
            }
            if (loss - prev_loss).abs() < cfg.tolerance_change {
                break StopReason::ChangeTolerance;
            }
        };
        Ok(outcome(reason, n_iter, current_evals, loss))
    }
}

/// Two-loop recursion: the approximate inverse Hessian applied to -g.
fn two_loop<T: LbfgsFloat>(
    g: &[T],
    old_dirs: &VecDeque<Vec<T>>,
    old_stps: &VecDeque<Vec<T>>,
    ro: &VecDeque<f64>,
    h_diag: f64,
) -> Vec<T> {
    let num_old = old_dirs.len();
    let mut al = vec![0.0; num_old];
    let mut q: Vec<T> = g.iter().map(|&v| T::from_f64(-v.to_f64())).collect();
    for i in (0..num_old).rev() {
        al[i] = dot(&old_stps[i], &q) * ro[i];
        add_scaled(&mut q, -al[i], &old_dirs[i]);
    }
    let mut r = scale(&q, h_diag);
    for i in 0..num_old {
        let be_i = dot(&old_dirs[i], &r) * ro[i];
        add_scaled(&mut r, al[i] - be_i, &old_stps[i]);
    }
    r
}

/// Result of a line search: the accepted step, its loss and gradient, evaluations used.
struct LineSearchResult<T> {
    f: f64,
    g: Vec<T>,
    t: f64,
    evals: usize,
}

/// A point on the search line: step, loss, gradient, directional derivative.
#[derive(Clone)]
struct LinePoint<T> {
    t: f64,
    f: f64,
    g: Vec<T>,
    gtd: f64,
}

/// PyTorch's `_strong_wolfe` (a port of torch7's lswolfe.lua) with its defaults
/// c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9. `obj(t)` evaluates at x + t d.
fn strong_wolfe<T: LbfgsFloat, E>(
    obj: &mut impl FnMut(f64) -> Result<(f64, Vec<T>), E>,
    t0: f64,
    d: &[T],
    f: f64,
    g: &[T],
    gtd: f64,
    max_ls: usize,
) -> Result<LineSearchResult<T>, E> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    const TOLERANCE_CHANGE: f64 = 1e-9;

    let d_norm = max_abs(d);
    let mut t = t0;
    let (mut f_new, mut g_new) = obj(t)?;
    let mut evals = 1;
    let mut gtd_new = dot(&g_new, d);

    // Bracketing phase: find an interval containing a point satisfying the conditions.
    let mut prev = LinePoint { t: 0.0, f, g: g.to_vec(), gtd };
    let mut done = false;
    let mut ls_iter = 0;
    let mut bracket: Vec<LinePoint<T>> = loop {
        if ls_iter >= max_ls {
            // Out of evaluations: bracket between the start and the last trial.
            break vec![
                LinePoint { t: 0.0, f, g: g.to_vec(), gtd },
                LinePoint { t, f: f_new, g: g_new, gtd: gtd_new },
            ];
        }
        if f_new > f + C1 * t * gtd || (ls_iter > 1 && f_new >= prev.f) {
            break vec![prev, LinePoint { t, f: f_new, g: g_new, gtd: gtd_new }];
        }
        if gtd_new.abs() <= -C2 * gtd {
            done = true;
            break vec![LinePoint { t, f: f_new, g: g_new, gtd: gtd_new }];
        }
        if gtd_new >= 0.0 {
            break vec![prev, LinePoint { t, f: f_new, g: g_new, gtd: gtd_new }];
        }

        // Extrapolate by cubic interpolation, kept within [t + 0.01 (t - t_prev), 10 t].
        let min_step = t + 0.01 * (t - prev.t);
        let max_step = t * 10.0;
        let t_here = t;
        t = cubic_interpolate(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, Some((min_step, max_step)));
        prev = LinePoint { t: t_here, f: f_new, g: g_new, gtd: gtd_new };
        (f_new, g_new) = obj(t)?;
        evals += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
    };

    // Zoom phase: shrink the bracket until a point satisfies the strong Wolfe conditions.
    let order = |b: &[LinePoint<T>]| if b[0].f <= b[b.len() - 1].f { (0, 1) } else { (1, 0) };
    let (mut low, mut high) = order(&bracket);
    let mut insuf_progress = false;
    while !done && ls_iter < max_ls {
        if (bracket[1].t - bracket[0].t).abs() * d_norm < TOLERANCE_CHANGE {
            break;
        }
        let (b0, b1) = (&bracket[0], &bracket[1]);
        t = cubic_interpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd, None);

        // A trial too close to an end of the bracket twice in a row (or outside it) is
        // moved to 10% of the bracket's length from the nearest end.
        let b_max = pmax(b0.t, b1.t);
        let b_min = pmin(b0.t, b1.t);
        let eps = 0.1 * (b_max - b_min);
        if pmin(b_max - t, t - b_min) < eps {
            if insuf_progress || t >= b_max || t <= b_min {
                t = if (t - b_max).abs() < (t - b_min).abs() { b_max - eps } else { b_min + eps };
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }

        let (f_t, g_t) = obj(t)?;
        evals += 1;
        let gtd_t = dot(&g_t, d);
        ls_iter += 1;
        let point = LinePoint { t, f: f_t, g: g_t, gtd: gtd_t };

        if f_t > f + C1 * t * gtd || f_t >= bracket[low].f {
            // Armijo fails or no lower than the lowest point: the trial is the new high end.
            bracket[high] = point;
            (low, high) = order(&bracket);
        } else {
            if gtd_t.abs() <= -C2 * gtd {
                done = true;
            } else if gtd_t * (bracket[high].t - bracket[low].t) >= 0.0 {
                // The old high end becomes the low one.
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = point;
        }
    }

    let best = bracket.swap_remove(low);
    Ok(LineSearchResult { f: best.f, g: best.g, t: best.t, evals })
}

/// Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to `bounds`
/// (default: the interval between x1 and x2); the midpoint when the cubic has none.
fn cubic_interpolate(
    x1: f64,
    f1: f64,
    g1: f64,
    x2: f64,
    f2: f64,
    g2: f64,
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (xmin_bound, xmax_bound) = match bounds {
        Some(b) => b,
        None if x1 <= x2 => (x1, x2),
        None => (x2, x1),
    };
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        pmin(pmax(min_pos, xmin_bound), xmax_bound)
    } else {
        (xmin_bound + xmax_bound) / 2.0
    }
}

/// Python's `max(a, b)`: `a` unless `b > a` (so a NaN in `a` propagates, as in torch).
fn pmax(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min(a, b)`: `a` unless `b < a`.
fn pmin(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

// Vector helpers. Long vectors (style transfer images) are split into fixed chunks for
// rayon; partial sums are added in chunk order, so results do not depend on threads.

const CHUNK: usize = 1 << 15;

fn dot<T: LbfgsFloat>(a: &[T], b: &[T]) -> f64 {
    let part = |a: &[T], b: &[T]| a.iter().zip(b).map(|(&x, &y)| x.to_f64() * y.to_f64()).sum::<f64>();
    if a.len() <= CHUNK {
        return part(a, b);
    }
    let parts: Vec<f64> = a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)).map(|(a, b)| part(a, b)).collect();
    parts.into_iter().sum()
}

fn sum_abs<T: LbfgsFloat>(a: &[T]) -> f64 {
    a.iter().map(|&v| v.to_f64().abs()).sum()
}

/// max |a_i|; NaN if any element is NaN (PyTorch's `abs().max()` propagates NaN).
fn max_abs<T: LbfgsFloat>(a: &[T]) -> f64 {
    a.iter().fold(0.0, |m: f64, &v| {
        let v = v.to_f64().abs();
        if v.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            m.max(v)
        }
    })
}

fn is_finite<T: LbfgsFloat>(loss: f64, g: &[T]) -> bool {
    loss.is_finite() && g.iter().all(|v| v.to_f64().is_finite())
}

fn sub<T: LbfgsFloat>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().zip(b).map(|(&x, &y)| T::from_f64(x.to_f64() - y.to_f64())).collect()
}

fn scale<T: LbfgsFloat>(a: &[T], s: f64) -> Vec<T> {
    a.iter().map(|&x| T::from_f64(x.to_f64() * s)).collect()
}

/// y += alpha * x
fn add_scaled<T: LbfgsFloat>(y: &mut [T], alpha: f64, x: &[T]) {
    let body = |y: &mut [T], x: &[T]| {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = T::from_f64(yi.to_f64() + alpha * xi.to_f64());
        }
    };
    if y.len() <= CHUNK {
        body(y, x);
    } else {
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(y, x)| body(y, x));
    }
}

/// out = x + t * d
fn add_scaled_into<T: LbfgsFloat>(out: &mut [T], x: &[T], t: f64, d: &[T]) {
    out.copy_from_slice(x);
    add_scaled(out, t, d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_interpolate_finds_minimum_of_a_cubic() {
        // f(x) = x^3 - 3x has its local minimum at x = 1; f' = 3x^2 - 3.
        let f = |x: f64| x * x * x - 3.0 * x;
        let g = |x: f64| 3.0 * x * x - 3.0;
        let t = cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0), None);
        assert!((t - 1.0).abs() < 1e-12, "{t}");
        // Clamped to the bounds.
        let t = cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0), Some((1.5, 3.0)));
        assert_eq!(t, 1.5);
    }

    #[test]
    fn cubic_interpolate_without_real_minimum_takes_midpoint() {
        // d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2) = 0 and g1 g2 = 1, so d1^2 - g1 g2 < 0.
        let t = cubic_interpolate(0.0, 0.0, 1.0, 1.0, 2.0 / 3.0, 1.0, None);
        assert_eq!(t, 0.5);
    }

    #[test]
    fn strong_wolfe_point_satisfies_conditions_on_quadratic() {
        // f(x) = 0.5 * 4 * x^2 along d = -1 from x = 1: minimum at t = 1.
        let x0 = 1.0f64;
        let d = [-1.0f64];
        let mut obj = |t: f64| -> Result<(f64, Vec<f64>), ()> {
            let x = x0 + t * d[0];
            Ok((2.0 * x * x, vec![4.0 * x]))
        };
        let (f, g) = (2.0, [4.0]);
        let gtd = -4.0;
        let r = strong_wolfe(&mut obj, 5.0, &d, f, &g, gtd, 25).unwrap();
        let gtd_new = r.g[0] * d[0];
        assert!(r.f <= f + 1e-4 * r.t * gtd, "Armijo: {} at t {}", r.f, r.t);
        assert!(gtd_new.abs() <= 0.9 * gtd.abs(), "curvature: {gtd_new}");
    }

    #[test]
    fn max_abs_propagates_nan() {
        assert!(max_abs(&[1.0f64, f64::NAN, 2.0]).is_nan());
        assert_eq!(max_abs(&[1.0f64, -3.0, 2.0]), 3.0);
    }

    #[test]
    fn chunked_dot_matches_plain_sum() {
        let n = CHUNK * 2 + 17;
        let a: Vec<f32> = (0..n).map(|i| ((i % 7) as f32) - 3.0).collect();
        let b: Vec<f32> = (0..n).map(|i| ((i % 5) as f32) * 0.5).collect();
        let plain: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        assert_eq!(dot(&a, &b), plain);
        let mut y = a.clone();
        add_scaled(&mut y, 2.0, &b);
        assert!(y.iter().zip(a.iter().zip(&b)).all(|(&y, (&a, &b))| y == a + 2.0 * b));
    }
}
