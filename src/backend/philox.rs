//! Philox4x32-10 (Salmon et al. 2011): a counter-based generator. The random number of
//! element `i` depends only on (seed, i), so the CPU, the emulator and a GPU kernel
//! (`kernels/random.cu` implements the same rounds) produce identical masks and inits.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Ten Philox rounds of counter `ctr` under `key`.
pub fn philox4x32(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for _ in 0..10 {
        let p0 = (M0 as u64) * (c[0] as u64);
        let p1 = (M1 as u64) * (c[2] as u64);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// The four words for element `index` of stream `seed`.
pub fn words(seed: u64, index: u64) -> [u32; 4] {
    philox4x32([index as u32, (index >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])
}

/// 24-bit uniform in [0, 1): exact in f32, so every backend compares the same value.
pub fn uniform(seed: u64, index: u64) -> f64 {
    (words(seed, index)[0] >> 8) as f64 * (1.0 / 16_777_216.0)
}

/// Dropout keeps element `index` when its 24-bit uniform is >= p (integer comparison,
/// so masks are bit-identical across backends).
pub fn keep(seed: u64, index: u64, p: f64) -> bool {
    let threshold = (p * 16_777_216.0).round() as u32;
    (words(seed, index)[0] >> 8) >= threshold
}

/// Standard normal by Box-Muller from words 0 and 1 of element `index`.
pub fn normal(seed: u64, index: u64) -> f64 {
    let w = words(seed, index);
    // u1 in (0, 1]: never log(0).
    let u1 = ((w[0] >> 8) as f64 + 1.0) * (1.0 / 16_777_216.0);
    let u2 = (w[1] >> 8) as f64 * (1.0 / 16_777_216.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_vector() {
        // Random123's published known-answer test for philox4x32-10, all-zero input.
        assert_eq!(philox4x32([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        // and the all-ones input.
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
    }

    #[test]
    fn uniform_and_normal_moments() {
        let n = 100_000u64;
        let mean_u: f64 = (0..n).map(|i| uniform(7, i)).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.01, "{mean_u}");
        let xs: Vec<f64> = (0..n).map(|i| normal(7, i)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.02, "{m} {v}");
        let kept = (0..n).filter(|&i| keep(3, i, 0.5)).count() as f64 / n as f64;
        assert!((kept - 0.5).abs() < 0.01);
    }
}
