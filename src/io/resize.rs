//! PIL's 8-bit resampling (`Image.resize` on an RGB image, libImaging/Resample.c), which the
//! reference's preprocessing uses: separable, horizontal pass first into an 8-bit image, then
//! vertical; coefficients in double, normalised per output pixel, then fixed point with 22
//! fractional bits; every pass rounds and clips to 0..=255. A float resize differs by up to
//! 5 levels, so this is done exactly as PIL does it.

use image::RgbImage;

/// Fractional bits of PIL's fixed-point coefficients (`PRECISION_BITS`).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Resampling filters of PIL with their support radius.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `Image.BICUBIC` (a = -0.5), the reference's filter for every resize.
    Bicubic,
    /// `Image.BILINEAR` (triangle).
    Bilinear,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bicubic => 2.0,
            Filter::Bilinear => 1.0,
        }
    }

    fn eval(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
        }
    }
}

/// Per output position: first input index and fixed-point weights (`precompute_coeffs` +
/// `normalize_coeffs_8bpc`).
fn coefficients(in_size: u32, out_size: u32, filter: Filter) -> Vec<(usize, Vec<i32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's (int) truncates towards zero; then clamped to the image.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let w: Vec<f64> = (xmin..xmax).map(|x| filter.eval((x as f64 - center + 0.5) * ss)).collect();
            let total: f64 = w.iter().sum();
            let fixed = w
                .iter()
                .map(|&k| {
                    let k = if total != 0.0 { k / total } else { k };
                    let v = k * (1u32 << PRECISION_BITS) as f64;
                    (if v < 0.0 { v - 0.5 } else { v + 0.5 }) as i32
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One pass over interleaved RGB rows: `src` is `lines` lines of `n_in` pixels spaced
/// `pixel_stride` / `line_stride` apart; writes `n_out` pixels per line.
fn pass(
    src: &[u8],
    (n_in, n_out, lines): (u32, u32, u32),
    (pixel_stride, line_stride): (usize, usize),
    filter: Filter,
    out: &mut [u8],
    (out_pixel_stride, out_line_stride): (usize, usize),
) {
    let coeffs = coefficients(n_in, n_out, filter);
    for line in 0..lines as usize {
        for (o, (first, k)) in coeffs.iter().enumerate() {
            for c in 0..3 {
                let mut acc: i32 = 1 << (PRECISION_BITS - 1);
                for (i, &w) in k.iter().enumerate() {
                    acc += src[line * line_stride + (first + i) * pixel_stride + c] as i32 * w;
                }
                out[line * out_line_stride + o * out_pixel_stride + c] = clip8(acc);
            }
        }
    }
}

/// `img.resize((width, height), filter)` of PIL on an 8-bit RGB image.
pub fn resize_rgb8(img: &RgbImage, width: u32, height: u32, filter: Filter) -> RgbImage {
    let (w, h) = img.dimensions();
    assert!(width > 0 && height > 0, "resize to an empty image");
    let mut cur = img.as_raw().clone();
    let mut cur_w = w;
    if width != w {
        let mut out = vec![0u8; (width * h * 3) as usize];
        pass(&cur, (w, width, h), (3, w as usize * 3), filter, &mut out, (3, width as usize * 3));
        cur = out;
        cur_w = width;
    }
    if height != h {
        let row = cur_w as usize * 3;
        let mut out = vec![0u8; row * height as usize];
        // Columns are the lines of the vertical pass: pixels one row apart.
        pass(&cur, (h, height, cur_w), (row, 3), filter, &mut out, (row, 3));
        cur = out;
    }
    RgbImage::from_raw(width, height, cur).expect("buffer of width x height x 3")
}
