//! What inputs a model can take and roughly how much memory it needs, computed from the
//! structure alone (nothing is built), so commands can refuse a combination up front
//! instead of panicking at the first step or aborting on a huge allocation.

/// Output side of a convolution (kernel `k`, stride `s`, padding `p`); None if it vanishes.
fn conv_side(side: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    (side + 2 * p).checked_sub(k).map(|v| v / s + 1)
}

/// Whether a U-Net with `num_downs` halvings takes an input of `h` x `w`: each side must be a
/// positive multiple of 2^num_downs (the skips concatenate equal sizes).
pub fn unet_accepts(num_downs: usize, h: usize, w: usize) -> bool {
    let m = 1usize << num_downs;
    h >= m && w >= m && h.is_multiple_of(m) && w.is_multiple_of(m)
}

/// The largest `unet_N` (N a power of two, at least 32) that takes `h` x `w`.
pub fn largest_unet_for(h: usize, w: usize) -> Option<usize> {
    if h == 0 || w == 0 {
        return None;
    }
    // The largest power of two dividing both sides (it is at most the smaller side).
    let n = 1usize << h.trailing_zeros().min(w.trailing_zeros()).min(30);
    (n >= 32).then_some(n)
}

/// Side of the PatchGAN (`n_layers` stride-2 convolutions, then two stride-1 ones, all
/// 4x4 with padding 1) output for an input side; None if the input is too small.
pub fn patchgan_output_side(side: usize, n_layers: usize) -> Option<usize> {
    let mut s = side;
    for _ in 0..n_layers {
        s = conv_side(s, 4, 2, 1)?;
    }
    s = conv_side(s, 4, 1, 1)?;
    conv_side(s, 4, 1, 1).filter(|&v| v >= 1)
}

/// The smallest input side a PatchGAN with `n_layers` takes.
pub fn patchgan_min_side(n_layers: usize) -> usize {
    // Each stride-2 layer halves (rounding down) and the two last ones remove 1 each, so
    // the bound is below 2^(n+2); search upwards from 1.
    (1..=(4usize << n_layers.min(40)))
        .find(|&s| patchgan_output_side(s, n_layers).is_some())
        .unwrap_or(usize::MAX)
}

/// The deepest PatchGAN that takes an input side (0 if none does).
pub fn deepest_patchgan_for(side: usize) -> usize {
    (1..=40).take_while(|&n| patchgan_output_side(side, n).is_some()).last().unwrap_or(0)
}

/// Weights (biases and norm parameters left out: under 1%) of `UnetGenerator`.
pub fn unet_weights(input_nc: usize, output_nc: usize, num_downs: usize, ngf: usize) -> f64 {
    let g = ngf as f64;
    let conv = |cin: f64, cout: f64| cin * cout * 16.0;
    // Innermost (8g -> 8g, up from 8g), (num_downs - 5) blocks at 8g (up from 16g), then
    // 4g/8g, 2g/4g, g/2g and the outermost (input_nc -> g, up from 2g to output_nc).
    let innermost = conv(8.0 * g, 8.0 * g) * 2.0;
    let deep = (num_downs.saturating_sub(5)) as f64 * (conv(8.0 * g, 8.0 * g) + conv(16.0 * g, 8.0 * g));
    let mid: f64 = [(4.0, 8.0), (2.0, 4.0), (1.0, 2.0)]
        .iter()
        .map(|&(o, i)| conv(o * g, i * g) + conv(2.0 * i * g, o * g))
        .sum();
    let outer = conv(input_nc as f64, g) + conv(2.0 * g, output_nc as f64);
    innermost + deep + mid + outer
}

/// Activation values one U-Net forward keeps for backward, per image of `h` x `w`
/// (about eight tensors per level: activation, conv, norm, concat, relu, upconv, norm, dropout).
pub fn unet_activations(num_downs: usize, ngf: usize, h: usize, w: usize) -> f64 {
    let mut total = 0.0;
    let mut area = h as f64 * w as f64;
    for level in 0..num_downs {
        area /= 4.0;
        let c = ngf as f64 * (1u64 << level.min(3)) as f64;
        total += 8.0 * c * area;
    }
    total
}

/// Weights of `ResnetGenerator` (7x7 stem, two stride-2 3x3 downs, blocks of two 3x3
/// convolutions at 4 ngf, two ups, 7x7 head).
pub fn resnet_weights(input_nc: usize, output_nc: usize, n_blocks: usize, ngf: usize) -> f64 {
    let g = ngf as f64;
    let ends = 49.0 * g * (input_nc + output_nc) as f64;
    let sampling = 2.0 * 9.0 * (g * 2.0 * g + 2.0 * g * 4.0 * g);
    ends + sampling + n_blocks as f64 * 2.0 * 9.0 * (4.0 * g).powi(2)
}

/// Activation values one ResNet generator forward keeps, per image of `h` x `w`.
pub fn resnet_activations(n_blocks: usize, ngf: usize, h: usize, w: usize) -> f64 {
    let (g, area) = (ngf as f64, h as f64 * w as f64);
    // Stem and head at full size, the samplings at 1/4, each block's ~7 tensors at 1/16.
    8.0 * g * area + 8.0 * g * area / 2.0 + 7.0 * n_blocks as f64 * 4.0 * g * area / 16.0
}

/// Weights of `NLayerDiscriminator`.
pub fn patchgan_weights(input_nc: usize, ndf: usize, n_layers: usize) -> f64 {
    let d = ndf as f64;
    let mult = |n: usize| (1u64 << n.min(3)) as f64;
    let mut total = input_nc as f64 * d * 16.0;
    for n in 1..=n_layers {
        total += mult(n - 1) * d * mult(n) * d * 16.0;
    }
    total + mult(n_layers) * d * 16.0
}

/// Activation values one PatchGAN forward keeps, per image of `h` x `w`.
pub fn patchgan_activations(ndf: usize, n_layers: usize, h: usize, w: usize) -> f64 {
    let mut total = 0.0;
    let mut area = h as f64 * w as f64;
    for n in 0..=n_layers {
        if n < n_layers {
            area /= 4.0;
        }
        total += 3.0 * ndf as f64 * (1u64 << n.min(3)) as f64 * area;
    }
    total
}

/// Memory the host has available now (Linux `MemAvailable`), in bytes; None elsewhere.
pub fn host_memory_available() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unet_sizes() {
        assert!(unet_accepts(8, 256, 512) && !unet_accepts(8, 32, 32) && !unet_accepts(5, 33, 64));
        assert_eq!(largest_unet_for(32, 32), Some(32));
        assert_eq!(largest_unet_for(96, 64), Some(32));
        assert_eq!(largest_unet_for(512, 256), Some(256));
        assert_eq!(largest_unet_for(33, 64), None);
        // unet_256 with ngf 64: the reference's 54.4 M parameters.
        let w = unet_weights(3, 3, 8, 64);
        assert!((w / 54.41e6 - 1.0).abs() < 0.01, "{w}");
    }

    #[test]
    fn patchgan_sizes() {
        // 70x70 PatchGAN on 256: a 30x30 map (as the reference).
        assert_eq!(patchgan_output_side(256, 3), Some(30));
        assert_eq!(patchgan_output_side(16, 3), None);
        let m = patchgan_min_side(3);
        assert!(patchgan_output_side(m, 3).is_some() && patchgan_output_side(m - 1, 3).is_none());
        assert_eq!(deepest_patchgan_for(256), 6);
        // 2.77 M parameters for n_layers 3, ndf 64 on 6 input channels.
        let w = patchgan_weights(6, 64, 3);
        assert!((w / 2.765e6 - 1.0).abs() < 0.01, "{w}");
    }
}
