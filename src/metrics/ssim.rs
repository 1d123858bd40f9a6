//! SSIM as Wang et al. 2004 define it: an 11x11 Gaussian window (sigma 1.5), constants
//! K1 = 0.01, K2 = 0.03 for pixels in [0, 1], means over the windows that fit inside the
//! image ("valid"), then over channels. This equals skimage's `structural_similarity`
//! with `gaussian_weights=True, use_sample_covariance=False, data_range=1`.

const RADIUS: usize = 5;
const SIGMA: f64 = 1.5;

/// Mean SSIM of two planar images (`c * h * w` values in [-1, 1]) of `c` channels.
/// Images smaller than the window are compared with the window clipped to the image.
pub fn ssim(x: &[f32], y: &[f32], c: usize, h: usize, w: usize) -> f64 {
    assert_eq!(x.len(), c * h * w, "ssim: first image is not {c}x{h}x{w}");
    assert_eq!(y.len(), c * h * w, "ssim: second image is not {c}x{h}x{w}");
    let r = RADIUS.min((h.min(w).max(1) - 1) / 2);
    let g: Vec<f64> =
        (0..=2 * r).map(|i| (-((i as f64 - r as f64).powi(2)) / (2.0 * SIGMA * SIGMA)).exp()).collect();
    let norm: f64 = g.iter().sum::<f64>().powi(2);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let px = |img: &[f32], i: usize| (img[i] as f64 + 1.0) / 2.0;
    let (oh, ow) = (h - 2 * r, w - 2 * r);
    let mut total = 0.0;
    for ch in 0..c {
        let base = ch * h * w;
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut mx, mut my, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for (dy, gy) in g.iter().enumerate() {
                    for (dx, gx) in g.iter().enumerate() {
                        let i = base + (oy + dy) * w + ox + dx;
                        let (a, b, wt) = (px(x, i), px(y, i), gy * gx / norm);
                        mx += wt * a;
                        my += wt * b;
                        sxx += wt * a * a;
                        syy += wt * b * b;
                        sxy += wt * a * b;
                    }
                }
                let (vx, vy, cov) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
                total +=
                    ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            }
        }
    }
    total / (c * oh * ow) as f64
}
