//! Learning-rate schedules of pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix,
//! `models/networks.py::get_scheduler`), with PyTorch's scheduler semantics:
//! the learning rate after `last_epoch` calls of `scheduler.step()` is
//!
//! - linear (`LambdaLR`): base * (1 - max(0, last_epoch + epoch_count - n_epochs) / (n_epochs_decay + 1))
//! - step (`StepLR`, gamma 0.1): base * gamma^(last_epoch / lr_decay_iters)
//! - cosine (`CosineAnnealingLR`, T_max = n_epochs, eta_min 0): base * (1 + cos(pi * last_epoch / T_max)) / 2
//!
//! PyTorch computes the cosine recursively; this is its closed form (equal up to rounding).
//! The current reference training loop steps the scheduler at the start of every epoch, so
//! epoch e trains with the rate after e - epoch_count + 1 steps: with the defaults
//! (epoch_count 1, n_epochs 100, n_epochs_decay 100) epochs 1-99 use the full rate, epoch 100
//! uses 1.98e-4 and epoch 200 uses 0.

use anyhow::{bail, Result};

#[derive(Clone, Debug, PartialEq)]
pub enum LrPolicy {
    Linear { epoch_count: usize, n_epochs: usize, n_epochs_decay: usize },
    Step { lr_decay_iters: usize, gamma: f64 },
    Cosine { t_max: usize },
}

impl LrPolicy {
    /// Builds the policy named by pix2pix's `--lr_policy` from its options.
    pub fn from_options(
        name: &str,
        epoch_count: usize,
        n_epochs: usize,
        n_epochs_decay: usize,
        lr_decay_iters: usize,
    ) -> Result<LrPolicy> {
        Ok(match name {
            "linear" => LrPolicy::Linear { epoch_count, n_epochs, n_epochs_decay },
            "step" => {
                if lr_decay_iters == 0 {
                    bail!("--lr_decay_iters must be at least 1 for the step policy");
                }
                LrPolicy::Step { lr_decay_iters, gamma: 0.1 }
            }
            "cosine" => {
                if n_epochs == 0 {
                    bail!("--n_epochs must be at least 1 for the cosine policy");
                }
                LrPolicy::Cosine { t_max: n_epochs }
            }
            other => bail!("unknown learning-rate policy '{other}' (expected linear, step or cosine)"),
        })
    }

    /// Multiplier on the base learning rate after `last_epoch` scheduler steps.
    pub fn factor(&self, last_epoch: usize) -> f64 {
        match *self {
            LrPolicy::Linear { epoch_count, n_epochs, n_epochs_decay } => {
                let past = (last_epoch + epoch_count).saturating_sub(n_epochs);
                1.0 - past as f64 / (n_epochs_decay as f64 + 1.0)
            }
            LrPolicy::Step { lr_decay_iters, gamma } => gamma.powi((last_epoch / lr_decay_iters) as i32),
            LrPolicy::Cosine { t_max } => {
                (1.0 + (std::f64::consts::PI * last_epoch as f64 / t_max as f64).cos()) / 2.0
            }
        }
    }

    /// Learning rate after `last_epoch` scheduler steps.
    pub fn lr(&self, base_lr: f64, last_epoch: usize) -> f64 {
        base_lr * self.factor(last_epoch)
    }
}

/// A scheduler as PyTorch keeps one: created at step 0, `step()` once per epoch.
#[derive(Clone, Debug)]
pub struct LrScheduler {
    policy: LrPolicy,
    base_lr: f64,
    last_epoch: usize,
}

impl LrScheduler {
    pub fn new(policy: LrPolicy, base_lr: f64) -> Self {
        LrScheduler { policy, base_lr, last_epoch: 0 }
    }

    /// Current learning rate.
    pub fn lr(&self) -> f64 {
        self.policy.lr(self.base_lr, self.last_epoch)
    }

    /// Advances one epoch and returns the new learning rate.
    pub fn step(&mut self) -> f64 {
        self.last_epoch += 1;
        self.lr()
    }

    pub fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    pub fn policy(&self) -> &LrPolicy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn linear_is_constant_then_decays_to_near_zero() {
        let p = LrPolicy::from_options("linear", 1, 100, 100, 50).unwrap();
        // Steps 0..=99 cover epochs 1..=100: full rate.
        for e in 0..=99 {
            assert_eq!(p.factor(e), 1.0, "step {e}");
        }
        assert!(close(p.factor(100), 1.0 - 1.0 / 101.0));
        assert!(close(p.factor(150), 1.0 - 51.0 / 101.0));
        assert!(close(p.factor(199), 1.0 - 100.0 / 101.0));
        assert!(close(p.lr(2e-4, 199), 2e-4 / 101.0));
    }

    #[test]
    fn linear_respects_epoch_count_when_resuming() {
        // Resuming at epoch 120 (epoch_count 120): a fresh scheduler is already decaying.
        let p = LrPolicy::Linear { epoch_count: 120, n_epochs: 100, n_epochs_decay: 100 };
        assert!(close(p.factor(0), 1.0 - 20.0 / 101.0));
        assert!(close(p.factor(5), 1.0 - 25.0 / 101.0));
    }

    #[test]
    fn step_policy_divides_by_ten_every_lr_decay_iters() {
        let p = LrPolicy::from_options("step", 1, 100, 100, 50).unwrap();
        assert_eq!(p.factor(0), 1.0);
        assert_eq!(p.factor(49), 1.0);
        assert!(close(p.factor(50), 0.1));
        assert!(close(p.factor(99), 0.1));
        assert!(close(p.factor(100), 0.01));
        assert!(close(p.factor(175), 0.001));
    }

    #[test]
    fn cosine_reaches_zero_at_t_max_and_rises_after() {
        let p = LrPolicy::from_options("cosine", 1, 100, 100, 50).unwrap();
        assert_eq!(p.factor(0), 1.0);
        assert!(close(p.factor(50), 0.5));
        assert!(close(p.factor(25), (1.0 + (std::f64::consts::PI / 4.0).cos()) / 2.0));
        assert!(p.factor(100).abs() < 1e-15);
        // PyTorch's cosine is periodic past T_max (pix2pix trains 200 epochs with T_max 100).
        assert!(close(p.factor(150), 0.5));
        assert!(close(p.factor(200), 1.0));
    }

    #[test]
    fn scheduler_steps_once_per_epoch() {
        let mut s =
            LrScheduler::new(LrPolicy::Linear { epoch_count: 1, n_epochs: 2, n_epochs_decay: 3 }, 1.0);
        let mut lrs = vec![s.lr()];
        for _ in 0..5 {
            lrs.push(s.step());
        }
        // 1 - max(0, e + 1 - 2) / 4
        let want = [1.0, 1.0, 0.75, 0.5, 0.25, 0.0];
        for (got, want) in lrs.iter().zip(want) {
            assert!(close(*got, want), "{lrs:?}");
        }
        assert_eq!(s.last_epoch(), 5);
    }

    #[test]
    fn unknown_policy_is_an_error() {
        let err = LrPolicy::from_options("plateau", 1, 100, 100, 50).unwrap_err().to_string();
        assert!(err.contains("plateau") && err.contains("linear"), "{err}");
        assert!(LrPolicy::from_options("step", 1, 100, 100, 0).is_err());
    }
}
