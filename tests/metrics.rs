//! The colour-distribution report and SSIM against values computed by hand.

use engine::metrics::{lab_histograms, log_probability_svg, srgb_to_lab, ssim, LabHistograms};

fn planar(rgb: [f32; 3], hw: usize) -> Vec<f32> {
    rgb.iter().flat_map(|&c| std::iter::repeat_n(c * 2.0 - 1.0, hw)).collect()
}

#[test]
fn lab_of_known_colours() {
    // skimage.color.rgb2lab of white, black and pure sRGB red.
    let close = |a: [f64; 3], b: [f64; 3]| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 0.01);
    assert!(close(srgb_to_lab([1.0, 1.0, 1.0]), [100.0, 0.0, 0.0]), "{:?}", srgb_to_lab([1.0; 3]));
    assert!(close(srgb_to_lab([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]));
    let red = srgb_to_lab([1.0, 0.0, 0.0]);
    assert!(close(red, [53.2406, 80.0923, 67.2028]), "{red:?}");
}

#[test]
fn histogram_intersection_identical_and_disjoint() {
    let noise: Vec<f32> = (0..3 * 64).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let h = lab_histograms([noise.as_slice()]);
    let same = h.intersection(&h.clone());
    assert!(same.iter().all(|&v| (v - 1.0).abs() < 1e-12), "{same:?}");

    let black = lab_histograms([planar([0.0, 0.0, 0.0], 16).as_slice()]);
    let white = lab_histograms([planar([1.0, 1.0, 1.0], 16).as_slice()]);
    assert_eq!(black.intersection(&white)[0], 0.0, "L of black and white never overlap");
    // Half the pixels shared: intersection 1/2 in L.
    let mut half = planar([0.0, 0.0, 0.0], 8);
    half.extend(planar([1.0, 1.0, 1.0], 8));
    let mixed = lab_histograms([black_white(&half).as_slice()]);
    assert!((mixed.intersection(&black)[0] - 0.5).abs() < 1e-12);
    let mut merged = LabHistograms::default();
    merged.merge(&black);
    merged.merge(&white);
    assert_eq!(merged.counts[0].iter().sum::<u64>(), 32);
}

// Reorders [R(8) G(8) B(8) R(8) G(8) B(8)] into planar R(16) G(16) B(16).
fn black_white(two: &[f32]) -> Vec<f32> {
    let (a, b) = two.split_at(24);
    (0..3).flat_map(|c| a[c * 8..c * 8 + 8].iter().chain(&b[c * 8..c * 8 + 8]).copied()).collect()
}

#[test]
fn svg_has_one_curve_per_series() {
    let a = lab_histograms([planar([0.2, 0.5, 0.7], 4).as_slice()]);
    let b = lab_histograms([planar([0.9, 0.1, 0.3], 4).as_slice()]);
    let svg = log_probability_svg(1, &[("output", &a), ("target <gt>", &b)]);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert!(svg.contains("target &lt;gt&gt;"));
}

#[test]
fn ssim_identical_constant_and_noise() {
    let (h, w) = (16, 20);
    let img: Vec<f32> = (0..3 * h * w).map(|i| ((i * 7919 % 257) as f32 / 128.0) - 1.0).collect();
    assert!((ssim(&img, &img, 3, h, w) - 1.0).abs() < 1e-12);
    // Two constant images: variances vanish, SSIM = (2xy + C1) / (x^2 + y^2 + C1).
    let (x, y) = (0.25f64, 0.75f64);
    let a = vec![(x * 2.0 - 1.0) as f32; h * w];
    let b = vec![(y * 2.0 - 1.0) as f32; h * w];
    let c1 = 1e-4;
    let expect = (2.0 * x * y + c1) / (x * x + y * y + c1);
    assert!((ssim(&a, &b, 1, h, w) - expect).abs() < 1e-9);
    // Noise is less similar to the image than the image to itself, and symmetric.
    let other: Vec<f32> =
        img.iter().enumerate().map(|(i, v)| v * 0.5 + ((i % 5) as f32 - 2.0) * 0.1).collect();
    let s = ssim(&img, &other, 3, h, w);
    assert!(s < 0.99 && s > -1.0, "{s}");
    assert!((s - ssim(&other, &img, 3, h, w)).abs() < 1e-12);
}
