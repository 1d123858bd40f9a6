//! Forward ops on tensors. Each computes its result through the backend and records an
//! `Op` for autograd (see `autograd::backward_op` for the matching backward rule).

use super::graph::Op;
use super::Tensor;
use crate::backend::{Binary, ConvGeom, Loss, NormGeom, PadGeom, Pool, Unary};

impl Tensor {
    fn same_device(&self, other: &Tensor, op: &str) {
        assert!(
            self.device().same(other.device()),
            "{op}: tensors on {:?} and {:?}",
            self.device(),
            other.device()
        );
        assert_eq!(self.dtype(), other.dtype(), "{op}: dtypes {} and {}", self.dtype(), other.dtype());
    }
    fn same_shape(&self, other: &Tensor, op: &str) {
        assert_eq!(
            self.shape(),
            other.shape(),
            "{op}: shapes {:?} and {:?} differ",
            self.shape(),
            other.shape()
        );
        self.same_device(other, op);
    }

    // ---- elementwise ---------------------------------------------------------

    pub fn unary(&self, op: Unary) -> Tensor {
        let s = self.device().unary(op, &self.storage());
        Tensor::from_op(s, self.shape(), self.device(), Op::Unary(op), vec![self.clone()])
    }
    pub fn relu(&self) -> Tensor {
        self.unary(Unary::Relu)
    }
    pub fn leaky_relu(&self, slope: f64) -> Tensor {
        self.unary(Unary::LeakyRelu(slope))
    }
    pub fn tanh(&self) -> Tensor {
        self.unary(Unary::Tanh)
    }
    pub fn sigmoid(&self) -> Tensor {
        self.unary(Unary::Sigmoid)
    }
    pub fn abs(&self) -> Tensor {
        self.unary(Unary::Abs)
    }
    pub fn sqr(&self) -> Tensor {
        self.unary(Unary::Sqr)
    }

    fn binary(&self, op: Binary, other: &Tensor, name: &str) -> Tensor {
        self.same_shape(other, name);
        let s = self.device().binary(op, &self.storage(), &other.storage());
        Tensor::from_op(s, self.shape(), self.device(), Op::Binary(op), vec![self.clone(), other.clone()])
    }
    pub fn add(&self, other: &Tensor) -> Tensor {
        self.binary(Binary::Add, other, "add")
    }
    pub fn sub(&self, other: &Tensor) -> Tensor {
        self.binary(Binary::Sub, other, "sub")
    }
    pub fn mul(&self, other: &Tensor) -> Tensor {
        self.binary(Binary::Mul, other, "mul")
    }
    /// a * x + b with host scalars.
    pub fn affine(&self, a: f64, b: f64) -> Tensor {
        let s = self.device().affine(&self.storage(), a, b);
        Tensor::from_op(s, self.shape(), self.device(), Op::Affine(a), vec![self.clone()])
    }
    pub fn scale(&self, a: f64) -> Tensor {
        self.affine(a, 0.0)
    }

    /// Same data viewed with another shape (storage shared).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.numel(),
            "reshape: {:?} to {:?}",
            self.shape(),
            shape
        );
        Tensor::make(
            self.0.storage.clone(),
            shape,
            self.dtype(),
            self.device(),
            Some((Op::Reshape, vec![self.clone()])),
        )
    }

    // ---- reductions ------------------------------------------------------------

    /// Sum of all elements, a one-element tensor of shape [].
    pub fn sum(&self) -> Tensor {
        self.sum_scaled(1.0)
    }
    pub fn mean(&self) -> Tensor {
        self.sum_scaled(1.0 / self.numel() as f64)
    }
    fn sum_scaled(&self, scale: f64) -> Tensor {
        let mut s = self.device().sum_all(&self.storage());
        if scale != 1.0 {
            s = self.device().affine(&s, scale, 0.0);
        }
        Tensor::from_op(s, &[], self.device(), Op::Sum { scale }, vec![self.clone()])
    }

    // ---- convolution -------------------------------------------------------------

    /// x [n, c_in, h, w] * w [c_out, c_in, kh, kw] (+ bias [c_out]).
    pub fn conv2d(&self, w: &Tensor, bias: Option<&Tensor>, stride: usize, pad: usize) -> Tensor {
        let (n, c, h, wd) = self.dims4();
        let (o, i, kh, kw) = w.dims4();
        assert_eq!(
            c,
            i,
            "conv2d: input {:?} has {c} channels, weight {:?} expects {i}",
            self.shape(),
            w.shape()
        );
        self.same_device(w, "conv2d");
        let g = ConvGeom::forward(n, c, h, wd, o, (kh, kw), stride, pad);
        let s = self.device().conv2d(&self.storage(), &w.storage(), &g);
        let y = Tensor::from_op(
            s,
            &[n, o, g.oh, g.ow],
            self.device(),
            Op::Conv2d(g),
            vec![self.clone(), w.clone()],
        );
        match bias {
            Some(b) => y.add_channel_bias(b),
            None => y,
        }
    }

    /// Transposed convolution, x [n, c_in, h, w] with w [c_in, c_out, kh, kw] (PyTorch's IOHW):
    /// output size (h - 1) * stride - 2 * pad + kh + output_padding.
    pub fn conv_transpose2d(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Tensor {
        let (n, c, h, wd) = self.dims4();
        let (i, o, kh, kw) = w.dims4();
        assert_eq!(
            c,
            i,
            "conv_transpose2d: input {:?} has {c} channels, weight {:?} expects {i}",
            self.shape(),
            w.shape()
        );
        assert!(
            output_padding < stride.max(1),
            "conv_transpose2d: output_padding {output_padding} must be smaller than stride {stride}"
        );
        self.same_device(w, "conv_transpose2d");
        let oh = (h - 1) * stride + kh + output_padding - 2 * pad;
        let ow = (wd - 1) * stride + kw + output_padding - 2 * pad;
        // The mirrored convolution maps the output [n, o, oh, ow] back to x [n, c, h, w].
        let g = ConvGeom { n, c_in: o, h: oh, w: ow, c_out: c, kh, kw, stride, pad, oh: h, ow: wd };
        let s = self.device().conv2d_backward_input(&self.storage(), &w.storage(), &g);
        let y = Tensor::from_op(
            s,
            &[n, o, oh, ow],
            self.device(),
            Op::ConvTranspose2d(g),
            vec![self.clone(), w.clone()],
        );
        match bias {
            Some(b) => y.add_channel_bias(b),
            None => y,
        }
    }

    /// x [n, c, h, w] + b[c].
    pub fn add_channel_bias(&self, b: &Tensor) -> Tensor {
        let (n, c) = (self.shape()[0], self.shape()[1]);
        let hw = self.numel() / (n * c);
        assert_eq!(b.shape(), &[c], "add_channel_bias: bias {:?} for input {:?}", b.shape(), self.shape());
        self.same_device(b, "add_channel_bias");
        let s = self.device().add_channel_bias(&self.storage(), &b.storage(), n, c, hw);
        Tensor::from_op(s, self.shape(), self.device(), Op::AddChannelBias, vec![self.clone(), b.clone()])
    }

    // ---- normalisation -------------------------------------------------------------

    fn norm_inputs(&self, gamma: Option<&Tensor>, beta: Option<&Tensor>) -> Vec<Tensor> {
        assert_eq!(gamma.is_some(), beta.is_some(), "norm: gamma and beta come together");
        let mut inputs = vec![self.clone()];
        if let (Some(g), Some(b)) = (gamma, beta) {
            let c = self.shape()[1];
            assert!(
                g.shape() == [c] && b.shape() == [c],
                "norm: gamma {:?} / beta {:?} for input {:?}",
                g.shape(),
                b.shape(),
                self.shape()
            );
            inputs.push(g.clone());
            inputs.push(b.clone());
        }
        inputs
    }

    fn norm_geom(&self, instance: bool) -> NormGeom {
        let (n, c) = (self.shape()[0], self.shape()[1]);
        NormGeom { n, c, hw: self.numel() / (n * c), instance }
    }

    /// Batch norm with batch statistics (training); updates `running` = (mean, var) in place.
    pub fn batch_norm_train(
        &self,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        running: Option<(&Tensor, &Tensor)>,
        momentum: f64,
        eps: f64,
    ) -> Tensor {
        let g = self.norm_geom(false);
        assert!(
            g.count() > 1,
            "batch_norm: expected more than one value per channel in training, got input {:?}",
            self.shape()
        );
        let inputs = self.norm_inputs(gamma, beta);
        let dev = self.device();
        let (y, mean, invstd) = dev.norm_forward(
            &self.storage(),
            gamma.map(|t| t.storage()).as_deref(),
            beta.map(|t| t.storage()).as_deref(),
            &g,
            eps,
        );
        if let Some((rm, rv)) = running {
            dev.norm_running_update(
                &mut rm.storage_mut(),
                &mut rv.storage_mut(),
                &mean,
                &invstd,
                g.count(),
                momentum,
                eps,
            );
        }
        Tensor::from_op(y, self.shape(), dev, Op::Norm { g, mean, invstd }, inputs)
    }

    /// Batch norm with running statistics (eval).
    pub fn batch_norm_eval(
        &self,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        running_mean: &Tensor,
        running_var: &Tensor,
        eps: f64,
    ) -> Tensor {
        let g = self.norm_geom(false);
        let mut inputs = self.norm_inputs(gamma, beta);
        let dev = self.device();
        let y = dev.norm_forward_eval(
            &self.storage(),
            &running_mean.storage(),
            &running_var.storage(),
            gamma.map(|t| t.storage()).as_deref(),
            beta.map(|t| t.storage()).as_deref(),
            &g,
            eps,
        );
        inputs.push(running_mean.detach());
        inputs.push(running_var.detach());
        Tensor::from_op(y, self.shape(), dev, Op::NormEval { g, eps }, inputs)
    }

    /// Instance norm: statistics per sample and channel, optional affine.
    pub fn instance_norm(&self, gamma: Option<&Tensor>, beta: Option<&Tensor>, eps: f64) -> Tensor {
        let g = self.norm_geom(true);
        let inputs = self.norm_inputs(gamma, beta);
        let dev = self.device();
        let (y, mean, invstd) = dev.norm_forward(
            &self.storage(),
            gamma.map(|t| t.storage()).as_deref(),
            beta.map(|t| t.storage()).as_deref(),
            &g,
            eps,
        );
        Tensor::from_op(y, self.shape(), dev, Op::Norm { g, mean, invstd }, inputs)
    }

    // ---- dropout ---------------------------------------------------------------------

    /// Inverted dropout; the mask comes from Philox(seed, element index).
    pub fn dropout(&self, p: f64, seed: u64) -> Tensor {
        assert!((0.0..1.0).contains(&p), "dropout: p = {p} must be in [0, 1)");
        let mask = Tensor::from_storage(
            self.device().dropout_mask(self.numel(), p, seed, self.dtype()),
            self.shape(),
            self.device(),
        );
        self.mul(&mask)
    }

    // ---- layout ------------------------------------------------------------------------

    /// Concatenation along channels (dim 1) of NC... tensors with equal other dims.
    pub fn cat_channels(parts: &[&Tensor]) -> Tensor {
        assert!(!parts.is_empty(), "cat_channels: nothing to concatenate");
        let first = parts[0];
        let n = first.shape()[0];
        let rest: Vec<usize> = first.shape()[2..].to_vec();
        let hw: usize = rest.iter().product();
        let mut sizes = Vec::new();
        for p in parts {
            assert!(
                p.shape()[0] == n && p.shape()[2..] == rest[..],
                "cat_channels: shapes {:?} and {:?} differ outside dim 1",
                first.shape(),
                p.shape()
            );
            first.same_device(p, "cat_channels");
            sizes.push(p.shape()[1]);
        }
        let total: usize = sizes.iter().sum();
        let dev = first.device();
        let mut out = dev.zeros(n * total * hw, first.dtype());
        let mut c0 = 0;
        for (p, &c) in parts.iter().zip(&sizes) {
            dev.copy_channels(&p.storage(), c, 0, &mut out, total, c0, c, n, hw);
            c0 += c;
        }
        let mut shape = vec![n, total];
        shape.extend(rest);
        Tensor::from_op(out, &shape, dev, Op::Cat { sizes }, parts.iter().map(|t| (*t).clone()).collect())
    }

    /// Channels [c0, c0 + count) of x.
    pub fn narrow_channels(&self, c0: usize, count: usize) -> Tensor {
        let (n, c) = (self.shape()[0], self.shape()[1]);
        assert!(c0 + count <= c, "narrow_channels: [{c0}, {}) out of {c} channels", c0 + count);
        let hw = self.numel() / (n * c);
        let dev = self.device();
        let mut out = dev.zeros(n * count * hw, self.dtype());
        dev.copy_channels(&self.storage(), c, c0, &mut out, count, 0, count, n, hw);
        let mut shape = self.shape().to_vec();
        shape[1] = count;
        Tensor::from_op(out, &shape, dev, Op::NarrowChannels { c0, count }, vec![self.clone()])
    }

    // ---- pooling -----------------------------------------------------------------------

    pub fn pool2(&self, op: Pool) -> Tensor {
        let (n, c, h, w) = self.dims4();
        assert!(h >= 2 && w >= 2, "pool2: input {:?} is smaller than the 2x2 window", self.shape());
        let s = self.device().pool2(op, &self.storage(), n, c, h, w);
        Tensor::from_op(s, &[n, c, h / 2, w / 2], self.device(), Op::Pool2(op), vec![self.clone()])
    }
    pub fn max_pool2(&self) -> Tensor {
        self.pool2(Pool::Max)
    }
    pub fn avg_pool2(&self) -> Tensor {
        self.pool2(Pool::Avg)
    }

    // ---- padding -----------------------------------------------------------------------

    /// Reflection padding of `pad` on every side (PyTorch's ReflectionPad2d(pad)); the pad
    /// must be smaller than the height and the width.
    pub fn reflection_pad2d(&self, pad: usize) -> Tensor {
        let (n, c, h, w) = self.dims4();
        self.reflection_pad2d_geom(PadGeom::same(n, c, h, w, pad))
    }

    /// Reflection padding with (left, right, top, bottom) as PyTorch orders them.
    pub fn reflection_pad2d_sides(&self, left: usize, right: usize, top: usize, bottom: usize) -> Tensor {
        let (n, c, h, w) = self.dims4();
        self.reflection_pad2d_geom(PadGeom { n, c, h, w, top, bottom, left, right })
    }

    fn reflection_pad2d_geom(&self, g: PadGeom) -> Tensor {
        g.check();
        let s = self.device().reflection_pad(&self.storage(), &g);
        Tensor::from_op(
            s,
            &[g.n, g.c, g.oh(), g.ow()],
            self.device(),
            Op::ReflectionPad(g),
            vec![self.clone()],
        )
    }

    // ---- gram --------------------------------------------------------------------------

    /// [n, c, h, w] -> [n, c, c], normalised by c*h*w.
    pub fn gram(&self) -> Tensor {
        let (n, c, h, w) = self.dims4();
        let s = self.device().gram(&self.storage(), n, c, h * w);
        Tensor::from_op(s, &[n, c, c], self.device(), Op::Gram, vec![self.clone()])
    }

    // ---- losses (means, shape []) ----------------------------------------------------------

    pub fn loss(&self, op: Loss, target: &Tensor) -> Tensor {
        self.same_shape(target, "loss");
        let s = self.device().loss(op, &self.storage(), &target.storage());
        Tensor::from_op(s, &[], self.device(), Op::Loss(op), vec![self.clone(), target.clone()])
    }
    pub fn l1_loss(&self, target: &Tensor) -> Tensor {
        self.loss(Loss::L1, target)
    }
    pub fn mse_loss(&self, target: &Tensor) -> Tensor {
        self.loss(Loss::Mse, target)
    }
    /// Targets are constants: no gradient flows into them.
    pub fn bce_with_logits(&self, target: &Tensor) -> Tensor {
        self.loss(Loss::BceWithLogits, target)
    }
    /// Total variation (sum of squared neighbour differences / numel).
    pub fn tv_loss(&self) -> Tensor {
        let (n, c, h, w) = self.dims4();
        let s = self.device().tv(&self.storage(), n, c, h, w);
        Tensor::from_op(s, &[], self.device(), Op::Tv, vec![self.clone()])
    }
}
