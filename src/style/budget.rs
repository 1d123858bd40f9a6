//! Memory a style-transfer run needs, estimated from the shapes before anything is
//! allocated, so `--image-size 100000` is refused with a size that fits instead of
//! aborting on an 80 GB allocation (or swapping for hours).

use super::options::{OptimizerKind, StyleOptions};
use crate::nn::VGG19_LAYERS;

/// Values of every VGG-19 layer output up to `deepest` (an index into `VGG19_LAYERS`) for
/// an `h` x `w` input: what a forward keeps for backward.
pub fn vgg_values(deepest: usize, h: usize, w: usize) -> f64 {
    let (mut area, mut total) = (h as f64 * w as f64, 0.0);
    for name in &VGG19_LAYERS[..=deepest.min(VGG19_LAYERS.len() - 1)] {
        let block =
            (name.as_bytes()[name.len() - if name.starts_with("pool") { 1 } else { 3 }] - b'1') as usize;
        let c = [64.0, 128.0, 256.0, 512.0, 512.0][block.min(4)];
        if name.starts_with("pool") {
            area /= 4.0;
        }
        total += c * area;
    }
    total
}

/// Bytes for optimising an `h` x `w` image with style images of `styles` sizes: the
/// forward's activations and their gradients plus a copy for the targets (x3), the style
/// images' forward, and the optimiser's history (L-BFGS: two vectors per step kept).
pub fn estimate_bytes(
    o: &StyleOptions,
    deepest: usize,
    h: usize,
    w: usize,
    styles: &[(usize, usize)],
) -> f64 {
    let pixels = 3.0 * h as f64 * w as f64;
    let style = styles.iter().map(|&(sh, sw)| vgg_values(deepest, sh, sw)).fold(0.0, f64::max);
    let history = match o.optimizer {
        OptimizerKind::Lbfgs => 2.0 * o.lbfgs_history as f64 + 4.0,
        OptimizerKind::Adam => 4.0,
    };
    4.0 * (3.0 * vgg_values(deepest, h, w) + style + history * pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_the_area_and_depth() {
        let relu5_1 = VGG19_LAYERS.iter().position(|&l| l == "relu5_1").unwrap();
        // 512 px to relu5_1: about 160 M values (64 ch x 512^2 x 4 layers dominate).
        let v = vgg_values(relu5_1, 512, 512);
        assert!((1.5e8..1.7e8).contains(&v), "{v}");
        assert!(vgg_values(relu5_1, 1024, 1024) > 3.9 * v);
        assert!(vgg_values(0, 512, 512) < v / 8.0);
    }
}
