//! Colour handling for `--original-colors`: luminance-only transfer (Gatys et al.,
//! "Preserving Color in Neural Artistic Style Transfer", 2016). The result keeps the
//! luminance Y of the stylised image and the chrominance (I, Q) of the content image.
//! YIQ is the space of that paper; jcjohnson/neural-style uses YUV, which differs only in
//! the chroma axes (a rotation and scaling of I and Q), so Y, the part we keep, is the same.

/// RGB -> YIQ (NTSC 1953 coefficients).
const RGB_TO_YIQ: [[f32; 3]; 3] =
    [[0.299, 0.587, 0.114], [0.595_716, -0.274_453, -0.321_263], [0.211_456, -0.522_591, 0.311_135]];

/// The exact inverse of `RGB_TO_YIQ` (computed, not the rounded textbook table), so a
/// round trip returns the input to f32 precision.
fn yiq_to_rgb_matrix() -> [[f32; 3]; 3] {
    let m: [[f64; 3]; 3] = RGB_TO_YIQ.map(|r| r.map(|v| v as f64));
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let cof = |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let inv = [
        [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
        [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
        [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
    ];
    inv.map(|r| r.map(|v| (v / det) as f32))
}

fn apply(m: &[[f32; 3]; 3], chw: &[f32]) -> Vec<f32> {
    assert_eq!(chw.len() % 3, 0, "colour conversion of {} values: not 3 channels", chw.len());
    let plane = chw.len() / 3;
    let mut out = vec![0f32; chw.len()];
    for i in 0..plane {
        let p = [chw[i], chw[plane + i], chw[2 * plane + i]];
        for (c, row) in m.iter().enumerate() {
            out[c * plane + i] = row[0] * p[0] + row[1] * p[1] + row[2] * p[2];
        }
    }
    out
}

/// CHW RGB -> CHW YIQ.
pub fn rgb_to_yiq(chw: &[f32]) -> Vec<f32> {
    apply(&RGB_TO_YIQ, chw)
}

/// CHW YIQ -> CHW RGB (not clamped).
pub fn yiq_to_rgb(chw: &[f32]) -> Vec<f32> {
    apply(&yiq_to_rgb_matrix(), chw)
}

/// Luminance of `generated` with the chrominance of `content` (same size, CHW RGB in
/// [0, 1]); the result is clamped to [0, 1].
pub fn original_colors(content: &[f32], generated: &[f32]) -> Vec<f32> {
    assert_eq!(content.len(), generated.len(), "original_colors: content and generated image differ in size");
    let plane = content.len() / 3;
    let mut yiq = rgb_to_yiq(content);
    let gen = rgb_to_yiq(generated);
    yiq[..plane].copy_from_slice(&gen[..plane]);
    yiq_to_rgb(&yiq).into_iter().map(|v| v.clamp(0.0, 1.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yiq_round_trip_and_luma() {
        let rgb = vec![0.1, 0.9, 0.5, 0.3, 0.2, 0.7];
        let back = yiq_to_rgb(&rgb_to_yiq(&rgb));
        for (a, b) in rgb.iter().zip(&back) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Grey has no chroma and Y equals the grey level.
        let yiq = rgb_to_yiq(&[0.4, 0.4, 0.4]);
        assert!((yiq[0] - 0.4).abs() < 1e-6 && yiq[1].abs() < 1e-6 && yiq[2].abs() < 1e-6, "{yiq:?}");
    }

    #[test]
    fn original_colors_keeps_content_chroma_and_generated_luma() {
        // Two pixels, CHW.
        let content = vec![0.6, 0.3, 0.4, 0.5, 0.5, 0.3];
        let generated = vec![0.45, 0.5, 0.42, 0.55, 0.5, 0.48];
        let out = rgb_to_yiq(&original_colors(&content, &generated));
        let (c, g) = (rgb_to_yiq(&content), rgb_to_yiq(&generated));
        for i in 0..2 {
            assert!((out[i] - g[i]).abs() < 1e-5, "luma of pixel {i}");
            assert!(
                (out[2 + i] - c[2 + i]).abs() < 1e-5 && (out[4 + i] - c[4 + i]).abs() < 1e-5,
                "chroma of pixel {i}"
            );
        }
    }
}
