//! Adam (Kingma & Ba) with PyTorch's semantics: bias correction, L2 weight decay added to
//! the gradient, one step count per parameter. The update is one fused backend primitive
//! (`adam_step`), a single kernel per parameter on a GPU.

use crate::autograd::Gradients;
use crate::backend::AdamStep;
use crate::tensor::Tensor;

pub struct Adam {
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    steps: Vec<u64>,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// Host copy of Adam's state, for exact resume.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    pub steps: Vec<u64>,
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, lr: f64, beta1: f64, beta2: f64) -> Adam {
        let zeros = |p: &Tensor| Tensor::zeros(p.shape(), p.dtype(), p.device());
        let m = params.iter().map(zeros).collect();
        let v = params.iter().map(zeros).collect();
        let steps = vec![0; params.len()];
        Adam { params, m, v, steps, lr, beta1, beta2, eps: 1e-8, weight_decay: 0.0 }
    }

    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// One update of every parameter that has a gradient (others are left alone, as
    /// PyTorch does for parameters whose `.grad` is None).
    pub fn step(&mut self, grads: &Gradients) {
        let _guard = crate::autograd::no_grad();
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            self.steps[i] += 1;
            let h = AdamStep {
                lr: self.lr,
                beta1: self.beta1,
                beta2: self.beta2,
                eps: self.eps,
                weight_decay: self.weight_decay,
                step: self.steps[i],
            };
            let dev = p.device();
            dev.adam_step(
                &mut p.storage_mut(),
                &g.storage(),
                &mut self.m[i].storage_mut(),
                &mut self.v[i].storage_mut(),
                &h,
            );
        }
    }

    pub fn state(&self) -> AdamState {
        AdamState {
            steps: self.steps.clone(),
            m: self.m.iter().map(Tensor::to_vec_f32).collect(),
            v: self.v.iter().map(Tensor::to_vec_f32).collect(),
        }
    }

    /// Restores a saved state; errors when it belongs to another set of parameters.
    pub fn load_state(&mut self, s: &AdamState) -> anyhow::Result<()> {
        anyhow::ensure!(
            s.steps.len() == self.params.len()
                && s.m.len() == self.params.len()
                && s.v.len() == self.params.len(),
            "optimiser state holds {} parameters, the model has {}",
            s.steps.len(),
            self.params.len()
        );
        for (i, p) in self.params.iter().enumerate() {
            anyhow::ensure!(
                s.m[i].len() == p.numel() && s.v[i].len() == p.numel(),
                "optimiser state of parameter {i} has {} values, the parameter {}",
                s.m[i].len(),
                p.numel()
            );
            self.m[i].assign_f32(&s.m[i]);
            self.v[i].assign_f32(&s.v[i]);
        }
        self.steps = s.steps.clone();
        Ok(())
    }
}
