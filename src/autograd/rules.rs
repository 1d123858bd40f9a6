//! The backward rule of every op, in one place. Rules call backend primitives only, so the
//! same rule runs on the CPU, on CUDA and in the emulator. Each returns one optional
//! gradient per input (None where an input gets no gradient).

use super::{Node, Op};
use crate::backend::{Binary, Loss, Storage};
use crate::tensor::{Device, Tensor};

fn wrap(s: Storage, like: &Tensor) -> Option<Tensor> {
    Some(Tensor::from_storage(s, like.shape(), like.device()))
}

/// Gradients of `node`'s inputs given `gy`, the gradient of its output `out`.
pub(super) fn backward_op(node: &Node, out: &Tensor, gy: &Tensor) -> Vec<Option<Tensor>> {
    let dev: &Device = out.device();
    let x = &node.inputs[0];
    let g = gy.storage();
    match &node.op {
        Op::Unary(op) => vec![wrap(dev.unary_backward(*op, &x.storage(), &out.storage(), &g), x)],
        Op::Binary(op) => {
            let b = &node.inputs[1];
            match op {
                Binary::Add => vec![Some(gy.clone()), Some(gy.clone())],
                Binary::Sub => vec![Some(gy.clone()), wrap(dev.affine(&g, -1.0, 0.0), b)],
                Binary::Mul => vec![
                    x.requires_grad().then(|| {
                        Tensor::from_storage(dev.binary(Binary::Mul, &g, &b.storage()), x.shape(), dev)
                    }),
                    b.requires_grad().then(|| {
                        Tensor::from_storage(dev.binary(Binary::Mul, &g, &x.storage()), b.shape(), dev)
                    }),
                ],
            }
        }
        Op::Affine(a) => vec![wrap(dev.affine(&g, *a, 0.0), x)],
        Op::Sum { scale } => vec![wrap(dev.broadcast_scalar(&g, x.numel(), *scale), x)],
        Op::Reshape => {
            drop(g);
            vec![Some(gy.reshape(x.shape()))]
        }
        Op::Conv2d(geom) => {
            let w = &node.inputs[1];
            vec![
                x.requires_grad().then(|| {
                    Tensor::from_storage(dev.conv2d_backward_input(&g, &w.storage(), geom), x.shape(), dev)
                }),
                w.requires_grad().then(|| {
                    Tensor::from_storage(dev.conv2d_backward_weight(&x.storage(), &g, geom), w.shape(), dev)
                }),
            ]
        }
        Op::ConvTranspose2d(geom) => {
            // y = conv^T(x): the mirrored conv maps y-shaped tensors to x-shaped ones.
            let w = &node.inputs[1];
            vec![
                x.requires_grad()
                    .then(|| Tensor::from_storage(dev.conv2d(&g, &w.storage(), geom), x.shape(), dev)),
                w.requires_grad().then(|| {
                    Tensor::from_storage(dev.conv2d_backward_weight(&g, &x.storage(), geom), w.shape(), dev)
                }),
            ]
        }
        Op::AddChannelBias => {
            let b = &node.inputs[1];
            let (n, c) = (x.shape()[0], x.shape()[1]);
            let hw = x.numel() / (n * c);
            vec![
                Some(gy.clone()),
                b.requires_grad()
                    .then(|| Tensor::from_storage(dev.channel_sum(&g, n, c, hw), b.shape(), dev)),
            ]
        }
        Op::Norm { g: geom, mean, invstd } => {
            let gamma = node.inputs.get(1);
            let gamma_s = gamma.map(|t| t.storage());
            let (gx, ggamma, gbeta) =
                dev.norm_backward(&x.storage(), &g, mean, invstd, gamma_s.as_deref(), geom);
            let mut out = vec![wrap(gx, x)];
            if let Some(gamma) = gamma {
                out.push(wrap(ggamma.expect("norm_backward: gamma gradient"), gamma));
                out.push(wrap(gbeta.expect("norm_backward: beta gradient"), gamma));
            }
            out
        }
        Op::NormEval { g: geom, eps } => {
            // y = (x - m) / sqrt(v + eps) * gamma + beta: linear in x per channel.
            let k = node.inputs.len();
            let (mean, var) = (&node.inputs[k - 2], &node.inputs[k - 1]);
            let affine = k == 5;
            let gamma_s = affine.then(|| node.inputs[1].storage());
            let zeros = dev.zeros(geom.c, x.dtype());
            let gx = dev.norm_forward_eval(&g, &zeros, &var.storage(), gamma_s.as_deref(), None, geom, *eps);
            let mut out = vec![wrap(gx, x)];
            if affine {
                let xhat = dev.norm_forward_eval(
                    &x.storage(),
                    &mean.storage(),
                    &var.storage(),
                    None,
                    None,
                    geom,
                    *eps,
                );
                let prod = dev.binary(Binary::Mul, &g, &xhat);
                out.push(wrap(dev.channel_sum(&prod, geom.n, geom.c, geom.hw), &node.inputs[1]));
                out.push(wrap(dev.channel_sum(&g, geom.n, geom.c, geom.hw), &node.inputs[2]));
            }
            out.push(None);
            out.push(None);
            out
        }
        Op::Cat { sizes } => {
            let (n, total) = (out.shape()[0], out.shape()[1]);
            let hw = out.numel() / (n * total);
            let mut c0 = 0;
            let mut grads = Vec::new();
            for (input, &c) in node.inputs.iter().zip(sizes) {
                grads.push(input.requires_grad().then(|| {
                    let mut part = dev.zeros(n * c * hw, out.dtype());
                    dev.copy_channels(&g, total, c0, &mut part, c, 0, c, n, hw);
                    Tensor::from_storage(part, input.shape(), dev)
                }));
                c0 += c;
            }
            grads
        }
        Op::NarrowChannels { c0, count } => {
            let (n, c) = (x.shape()[0], x.shape()[1]);
            let hw = x.numel() / (n * c);
            let mut gx = dev.zeros(x.numel(), x.dtype());
            dev.copy_channels(&g, *count, 0, &mut gx, c, *c0, *count, n, hw);
            vec![wrap(gx, x)]
        }
        Op::Pool2(op) => {
            let (n, c, h, w) = x.dims4();
            vec![wrap(dev.pool2_backward(*op, &x.storage(), &g, n, c, h, w), x)]
        }
        Op::ReflectionPad(geom) => vec![wrap(dev.reflection_pad_backward(&g, geom), x)],
        Op::Gram => {
            let (n, c, h, w) = x.dims4();
            vec![wrap(dev.gram_backward(&x.storage(), &g, n, c, h * w), x)]
        }
        Op::Loss(op) => {
            let b = &node.inputs[1];
            let ga = dev.loss_backward(*op, &x.storage(), &b.storage(), &g);
            let gb = match op {
                Loss::L1 | Loss::Mse if b.requires_grad() => wrap(dev.affine(&ga, -1.0, 0.0), b),
                _ => None,
            };
            vec![wrap(ga, x), gb]
        }
        Op::Tv => {
            let (n, c, h, w) = x.dims4();
            vec![wrap(dev.tv_backward(&x.storage(), &g, n, c, h, w), x)]
        }
    }
}
