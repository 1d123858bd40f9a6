//! Plain stochastic gradient descent with optional momentum and weight decay (PyTorch's
//! formulation: buf = momentum * buf + g; p -= lr * buf).

use crate::autograd::Gradients;
use crate::backend::Binary;
use crate::tensor::Tensor;

pub struct Sgd {
    params: Vec<Tensor>,
    bufs: Vec<Option<Tensor>>,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, lr: f64) -> Sgd {
        let bufs = vec![None; params.len()];
        Sgd { params, bufs, lr, momentum: 0.0, weight_decay: 0.0 }
    }

    pub fn step(&mut self, grads: &Gradients) {
        let _guard = crate::autograd::no_grad();
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let mut d = if self.weight_decay != 0.0 { g.add(&p.scale(self.weight_decay)) } else { g.clone() };
            if self.momentum != 0.0 {
                d = match &self.bufs[i] {
                    Some(b) => b.scale(self.momentum).add(&d),
                    None => d.copy(),
                };
                self.bufs[i] = Some(d.clone());
            }
            let dev = p.device();
            let step = dev.affine(&d.storage(), -self.lr, 0.0);
            let updated = dev.binary(Binary::Add, &p.storage(), &step);
            *p.storage_mut() = updated;
        }
    }
}
