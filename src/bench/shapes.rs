//! The layer shapes every bench runs on, in one place: each convolution, transposed
//! convolution, norm, activation, concatenation, dropout, pooling, Gram matrix, loss and
//! Adam update of U-Net 256 (batch 1, 256x256), PatchGAN n3 (6 channels, 256x256) and
//! VGG-19 up to relu5_1 (256x256 and 512x512), generated from the architectures as
//! `nn::UnetGenerator`, `nn::NLayerDiscriminator` and `nn::Vgg19` build them.
//! The short table (CI) is the same generators on small sizes and widths.
//!
//! The FLOP counts of whole workloads (pix2pix step, style iteration) are derived from
//! this table too, and checked against /work/shared/reference (86.9, 99, 397 GFLOP).

use crate::backend::{ConvGeom, Loss, NormGeom, Pool, Unary};

/// One layer (or step) the benches time.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// A convolution. `transposed`: a ConvTranspose2d, whose geometry is the mirrored
    /// convolution (as in `tensor::ops::conv_transpose2d`): it maps g.y-shaped inputs to
    /// g.x-shaped outputs. `bias`: the layer adds a per-channel bias.
    Conv { g: ConvGeom, transposed: bool, bias: bool },
    /// Batch norm with affine parameters, training statistics and running averages.
    Norm(NormGeom),
    /// An activation on an [n, c, h, w] tensor.
    Act { op: Unary, dims: [usize; 4] },
    /// Dropout (mask, then multiply) on `len` elements.
    Dropout { len: usize, p: f64 },
    /// cat(a, b) along channels: [n, c[0], hw] and [n, c[1], hw].
    Concat { n: usize, c: [usize; 2], hw: usize },
    /// 2x2 pooling of an [n, c, h, w] tensor.
    Pool { op: Pool, dims: [usize; 4] },
    /// Gram matrix of [n, c, hw] (style losses).
    Gram { n: usize, c: usize, hw: usize },
    /// A mean loss over `len` elements.
    Loss { op: Loss, len: usize },
    /// Total variation of an [n, c, h, w] image.
    Tv { dims: [usize; 4] },
    /// One fused Adam step over `len` parameters.
    Adam { len: usize },
    /// Generic elementwise work (add, scale, fill, copy, random, reductions) on a tensor
    /// of `len` elements: the model's largest activation.
    Tensor { len: usize },
}

/// A layer of a model, named as in the model ("down2", "conv3_1", ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub model: String,
    pub name: String,
    pub layer: Layer,
}

fn dims_str(d: &[usize]) -> String {
    d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("x")
}

impl Layer {
    /// The shape as a short string: input dims, and what the layer makes of them.
    pub fn describe(&self) -> String {
        match self {
            Layer::Conv { g, transposed: false, .. } => {
                format!(
                    "{} -> {}x{}x{} k{} s{} p{}",
                    dims_str(&[g.n, g.c_in, g.h, g.w]),
                    g.c_out,
                    g.oh,
                    g.ow,
                    g.kh,
                    g.stride,
                    g.pad
                )
            }
            Layer::Conv { g, transposed: true, .. } => {
                format!(
                    "{} -> {}x{}x{} T k{} s{} p{}",
                    dims_str(&[g.n, g.c_out, g.oh, g.ow]),
                    g.c_in,
                    g.h,
                    g.w,
                    g.kh,
                    g.stride,
                    g.pad
                )
            }
            Layer::Norm(g) => format!("{} (c {})", dims_str(&[g.n, g.c, g.hw]), g.c),
            Layer::Act { dims, .. } | Layer::Pool { dims, .. } | Layer::Tv { dims } => dims_str(dims),
            Layer::Dropout { len, p } => format!("{len} p{p}"),
            Layer::Concat { n, c, hw } => format!("{n}x({}+{})x{hw}", c[0], c[1]),
            Layer::Gram { n, c, hw } => dims_str(&[*n, *c, *hw]),
            Layer::Loss { len, .. } | Layer::Adam { len } | Layer::Tensor { len } => len.to_string(),
        }
    }

    /// What the table prints as the layer's kind.
    pub fn kind(&self) -> String {
        match self {
            Layer::Conv { transposed: false, bias, .. } => {
                format!("conv{}", if *bias { "+bias" } else { "" })
            }
            Layer::Conv { transposed: true, bias, .. } => {
                format!("conv_t{}", if *bias { "+bias" } else { "" })
            }
            Layer::Norm(_) => "batchnorm".into(),
            Layer::Act { op, .. } => format!("{op:?}").to_lowercase(),
            Layer::Dropout { .. } => "dropout".into(),
            Layer::Concat { .. } => "concat".into(),
            Layer::Pool { op, .. } => format!("{op:?}pool").to_lowercase(),
            Layer::Gram { .. } => "gram".into(),
            Layer::Loss { op, .. } => format!("{op:?}").to_lowercase(),
            Layer::Tv { .. } => "tv".into(),
            Layer::Adam { .. } => "adam".into(),
            Layer::Tensor { .. } => "tensor".into(),
        }
    }

    /// Trainable parameters this layer owns.
    pub fn params(&self) -> usize {
        match self {
            Layer::Conv { g, transposed, bias } => {
                g.w_len()
                    + if *bias {
                        if *transposed {
                            g.c_in
                        } else {
                            g.c_out
                        }
                    } else {
                        0
                    }
            }
            Layer::Norm(g) => 2 * g.c,
            _ => 0,
        }
    }
}

struct Builder {
    model: String,
    out: Vec<Shape>,
}

impl Builder {
    fn new(model: &str) -> Self {
        Builder { model: model.into(), out: Vec::new() }
    }
    fn push(&mut self, name: impl Into<String>, layer: Layer) {
        self.out.push(Shape { model: self.model.clone(), name: name.into(), layer });
    }
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        name: &str,
        c_in: usize,
        size: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
    ) -> usize {
        let g = ConvGeom::forward(1, c_in, size, size, c_out, (k, k), stride, pad);
        self.push(name, Layer::Conv { g, transposed: false, bias });
        g.oh
    }
    /// ConvTranspose2d(c_in -> c_out, k4 s2 p1) on a size x size input: output 2*size.
    fn conv_t(&mut self, name: &str, c_in: usize, size: usize, c_out: usize, bias: bool) {
        let g = ConvGeom {
            n: 1,
            c_in: c_out,
            h: 2 * size,
            w: 2 * size,
            c_out: c_in,
            kh: 4,
            kw: 4,
            stride: 2,
            pad: 1,
            oh: size,
            ow: size,
        };
        self.push(name, Layer::Conv { g, transposed: true, bias });
    }
    fn norm(&mut self, name: &str, c: usize, size: usize) {
        self.push(name, Layer::Norm(NormGeom { n: 1, c, hw: size * size, instance: false }));
    }
    fn act(&mut self, name: &str, op: Unary, c: usize, size: usize) {
        self.push(name, Layer::Act { op, dims: [1, c, size, size] });
    }
}

/// `UnetGenerator(input_nc, output_nc, num_downs, ngf, batch norm, dropout)` at batch 1 on
/// size x size, in execution order. Level i downsamples size>>i to size>>(i+1); its
/// upsampling mirrors it; levels 4 ..= num_downs-2 have dropout (the reference's
/// num_downs - 5 intermediate blocks).
pub fn unet(
    model: &str,
    size: usize,
    input_nc: usize,
    output_nc: usize,
    num_downs: usize,
    ngf: usize,
) -> Vec<Shape> {
    assert!(
        num_downs >= 5 && size.is_multiple_of(1 << num_downs),
        "unet: size {size} must be a multiple of 2^{num_downs}"
    );
    let down_in: Vec<usize> =
        (0..num_downs).map(|i| if i == 0 { input_nc } else { ngf << (i - 1).min(3) }).collect();
    let down_out: Vec<usize> = (0..num_downs).map(|i| ngf << i.min(3)).collect();
    let inner = num_downs - 1;
    let mut b = Builder::new(model);
    for i in 0..num_downs {
        let s = size >> i;
        if i > 0 {
            b.act(&format!("down{}.lrelu", i + 1), Unary::LeakyRelu(0.2), down_in[i], s);
        }
        b.conv(&format!("down{}", i + 1), down_in[i], s, down_out[i], 4, 2, 1, false);
        if i > 0 && i < inner {
            b.norm(&format!("down{}.norm", i + 1), down_out[i], s / 2);
        }
    }
    for i in (0..num_downs).rev() {
        let s = size >> i;
        let c_up = if i == inner { down_out[i] } else { 2 * down_out[i] };
        b.act(&format!("up{}.relu", i + 1), Unary::Relu, c_up, s / 2);
        let c_out = if i == 0 { output_nc } else { down_in[i] };
        b.conv_t(&format!("up{}", i + 1), c_up, s / 2, c_out, i == 0);
        if i == 0 {
            b.act("up1.tanh", Unary::Tanh, c_out, s);
            continue;
        }
        b.norm(&format!("up{}.norm", i + 1), c_out, s);
        if i >= 4 && i < inner {
            b.push(format!("up{}.dropout", i + 1), Layer::Dropout { len: c_out * s * s, p: 0.5 });
        }
        b.push(format!("up{}.cat", i + 1), Layer::Concat { n: 1, c: [down_in[i], c_out], hw: s * s });
    }
    b.push("largest activation", Layer::Tensor { len: 2 * down_in[1] * (size / 2) * (size / 2) });
    b.push("L1(fake_B, real_B)", Layer::Loss { op: Loss::L1, len: output_nc * size * size });
    let params = b.out.iter().map(|s| s.layer.params()).sum();
    b.push("adam (all G parameters)", Layer::Adam { len: params });
    b.out
}

/// `NLayerDiscriminator(input_nc, ndf, n_layers, batch norm)` at batch 1 on size x size,
/// with the channel concatenation of its (A, B) input.
pub fn patchgan(model: &str, size: usize, input_nc: usize, ndf: usize, n_layers: usize) -> Vec<Shape> {
    let mut b = Builder::new(model);
    b.push(
        "input cat(A, B)",
        Layer::Concat { n: 1, c: [input_nc / 2, input_nc - input_nc / 2], hw: size * size },
    );
    let mut s = b.conv("conv1", input_nc, size, ndf, 4, 2, 1, true);
    b.act("conv1.lrelu", Unary::LeakyRelu(0.2), ndf, s);
    let mut mult = 1;
    for n in 1..=n_layers {
        let prev = mult;
        mult = (1 << n).min(8);
        let stride = if n < n_layers { 2 } else { 1 };
        let name = format!("conv{}", n + 1);
        s = b.conv(&name, ndf * prev, s, ndf * mult, 4, stride, 1, false);
        b.norm(&format!("{name}.norm"), ndf * mult, s);
        b.act(&format!("{name}.lrelu"), Unary::LeakyRelu(0.2), ndf * mult, s);
    }
    let s_out = b.conv(&format!("conv{}", n_layers + 2), ndf * mult, s, 1, 4, 1, 1, true);
    b.push("BCE(logits, target)", Layer::Loss { op: Loss::BceWithLogits, len: s_out * s_out });
    let params = b.out.iter().map(|s| s.layer.params()).sum();
    b.push("adam (all D parameters)", Layer::Adam { len: params });
    b.out
}

/// Channels of VGG-19's five blocks.
const VGG_WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];
/// Convolutions per block, and the style layers (relu1_1 ... relu5_1) neural-style uses.
const VGG_CONVS: [usize; 5] = [2, 2, 4, 4, 4];

/// VGG-19 features up to relu5_1 on a size x size RGB image (widths divided by `div`),
/// with the style losses neural-style puts on it: a Gram matrix and MSE at relu1_1 ...
/// relu5_1, the content MSE at relu4_2, and total variation of the image.
pub fn vgg19(model: &str, size: usize, div: usize) -> Vec<Shape> {
    let mut b = Builder::new(model);
    let (mut c, mut s) = (3, size);
    for (block, (&width, &convs)) in VGG_WIDTHS.iter().zip(&VGG_CONVS).enumerate() {
        let width = width / div;
        let convs = if block == 4 { 1 } else { convs };
        for j in 1..=convs {
            let name = format!("conv{}_{j}", block + 1);
            b.conv(&name, c, s, width, 3, 1, 1, true);
            b.act(&format!("relu{}_{j}", block + 1), Unary::Relu, width, s);
            c = width;
            if j == 1 {
                b.push(format!("gram(relu{}_1)", block + 1), Layer::Gram { n: 1, c, hw: s * s });
                b.push(format!("style mse(relu{}_1)", block + 1), Layer::Loss { op: Loss::Mse, len: c * c });
            }
            if block == 3 && j == 2 {
                b.push("content mse(relu4_2)", Layer::Loss { op: Loss::Mse, len: c * s * s });
            }
        }
        if block < 4 {
            b.push(format!("pool{}", block + 1), Layer::Pool { op: Pool::Max, dims: [1, c, s, s] });
            s /= 2;
        }
    }
    b.push("largest activation", Layer::Tensor { len: VGG_WIDTHS[0] / div * size * size });
    b.push("tv(image)", Layer::Tv { dims: [1, 3, size, size] });
    b.out
}

/// The bench table: full (U-Net 256, PatchGAN n3, VGG-19 at 256 and 512) or short (the
/// same networks on 32x32 or 64x64 (the smallest U-Net with a dropout level) with narrow
/// layers, for CI and the emulator).
pub fn table(short: bool) -> Vec<Shape> {
    let mut t = Vec::new();
    if short {
        t.extend(unet("unet_64/ngf8", 64, 3, 3, 6, 8));
        t.extend(patchgan("patchgan_n3/ndf8", 32, 6, 8, 3));
        t.extend(vgg19("vgg19/8@32", 32, 8));
    } else {
        t.extend(unet("unet_256", 256, 3, 3, 8, 64));
        t.extend(patchgan("patchgan_n3", 256, 6, 64, 3));
        t.extend(vgg19("vgg19@256", 256, 1));
        t.extend(vgg19("vgg19@512", 512, 1));
    }
    t
}

/// The table as text, one layer per line (`engine bench kernels --shapes`, the reports).
pub fn format_table(shapes: &[Shape]) -> String {
    let mut out = format!(
        "{:<18} {:<24} {:<12} {:<34} {:>10} {:>8}\n",
        "model", "layer", "kind", "shape", "params", "GFLOP"
    );
    for s in shapes {
        let gflop = match &s.layer {
            Layer::Conv { g, .. } => format!("{:.3}", g.flops() / 1e9),
            Layer::Gram { n, c, hw } => format!("{:.3}", 2.0 * (n * c * c * hw) as f64 / 1e9),
            _ => String::new(),
        };
        out += &format!(
            "{:<18} {:<24} {:<12} {:<34} {:>10} {:>8}\n",
            s.model,
            s.name,
            s.layer.kind(),
            s.layer.describe(),
            s.layer.params(),
            gflop
        );
    }
    out
}

fn conv_flops(shapes: &[Shape]) -> f64 {
    shapes
        .iter()
        .filter_map(|s| if let Layer::Conv { g, .. } = &s.layer { Some(g.flops()) } else { None })
        .sum()
}

/// FLOPs of the first convolution's input gradient, which nobody needs (its input is data).
fn first_conv_flops(shapes: &[Shape]) -> f64 {
    shapes
        .iter()
        .find_map(|s| if let Layer::Conv { g, .. } = &s.layer { Some(g.flops()) } else { None })
        .unwrap_or(0.0)
}

/// Work of one pix2pix training step (multiply-add = 2): G forward; D forward on the fake
/// pair, the real pair, and the fake pair again for G; D backward (weights and inputs,
/// but not the data input) for its two losses; D backward to its input only for G (D is
/// frozen); G backward (weights and inputs, but not the data input).
pub fn pix2pix_step_flops(g: &[Shape], d: &[Shape]) -> f64 {
    let (gf, df) = (conv_flops(g), conv_flops(d));
    let g_bwd = 2.0 * gf - first_conv_flops(g);
    let d_bwd = 2.0 * df - first_conv_flops(d);
    gf + 3.0 * df + 2.0 * d_bwd + df + g_bwd
}

/// Work of one style iteration: VGG forward and the gradient w.r.t. the image (no weight
/// gradients), and the five Gram matrices forward and backward.
pub fn style_iter_flops(vgg: &[Shape]) -> f64 {
    let grams: f64 = vgg
        .iter()
        .filter_map(|s| {
            if let Layer::Gram { n, c, hw } = s.layer {
                Some(2.0 * (n * c * c * hw) as f64)
            } else {
                None
            }
        })
        .sum();
    2.0 * conv_flops(vgg) + 2.0 * grams
}

/// Forward work of a network (the U-Net forward bench).
pub fn forward_flops(shapes: &[Shape]) -> f64 {
    conv_flops(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(t: &[Shape]) -> usize {
        t.iter().map(|s| s.layer.params()).sum()
    }

    #[test]
    fn unet_256_matches_the_reference() {
        let t = unet("u", 256, 3, 3, 8, 64);
        // Parameter count of the reference (batch norm), and 12.10 GFLOP forward.
        assert_eq!(params(&t), 54_413_955);
        assert!((forward_flops(&t) / 1e9 - 12.10).abs() < 0.01, "{}", forward_flops(&t) / 1e9);
        assert_eq!(t.iter().filter(|s| matches!(s.layer, Layer::Dropout { .. })).count(), 3);
        assert_eq!(t.iter().filter(|s| matches!(s.layer, Layer::Conv { transposed: true, .. })).count(), 8);
        assert!(matches!(t.last().unwrap().layer, Layer::Adam { len: 54_413_955 }));
    }

    #[test]
    fn patchgan_n3_matches_the_reference() {
        let t = patchgan("d", 256, 6, 64, 3);
        assert_eq!(params(&t), 2_768_705);
        assert!((forward_flops(&t) / 1e9 - 6.39).abs() < 0.01, "{}", forward_flops(&t) / 1e9);
        assert!(
            t.iter().any(|s| s.layer == Layer::Loss { op: Loss::BceWithLogits, len: 900 }),
            "30x30 output"
        );
    }

    #[test]
    fn workloads_match_the_reference_flops() {
        let g = unet("u", 256, 3, 3, 8, 64);
        let d = patchgan("d", 256, 6, 64, 3);
        assert!(
            (pix2pix_step_flops(&g, &d) / 1e9 - 86.9).abs() < 0.1,
            "{}",
            pix2pix_step_flops(&g, &d) / 1e9
        );
        let v256 = vgg19("v", 256, 1);
        let v512 = vgg19("v", 512, 1);
        assert_eq!(params(&v256), 12_944_960);
        assert!((style_iter_flops(&v256) / 1e9 - 99.0).abs() < 1.0, "{}", style_iter_flops(&v256) / 1e9);
        assert!((style_iter_flops(&v512) / 1e9 - 397.0).abs() < 2.0, "{}", style_iter_flops(&v512) / 1e9);
    }

    #[test]
    fn short_table_builds_and_prints() {
        let t = table(true);
        assert!(t.len() > 40);
        let text = format_table(&t);
        assert!(text.contains("conv_t") && text.contains("gram") && text.contains("adam"));
    }
}
