//! Colour distributions in CIE Lab (D65, sRGB primaries, as skimage's `rgb2lab`):
//! per-channel histograms, their histogram intersection, and log-probability plots as SVG.
//!
//! Bins: L in [0, 100] with 100 bins of width 1; a and b in [-128, 128) with 256 bins of
//! width 1 (the sRGB gamut spans about -86..98 in a and -108..95 in b).

/// Channel names and histogram ranges (low, high, bins).
pub const LAB_CHANNELS: [(&str, f64, f64, usize); 3] =
    [("L", 0.0, 100.0, 100), ("a", -128.0, 128.0, 256), ("b", -128.0, 128.0, 256)];

/// sRGB in [0, 1] to Lab.
pub fn srgb_to_lab(rgb: [f64; 3]) -> [f64; 3] {
    let lin = |c: f64| if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
    let [r, g, b] = rgb.map(|c| lin(c.clamp(0.0, 1.0)));
    // XYZ relative to the D65 white point.
    let x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047;
    let y = 0.212671 * r + 0.715160 * g + 0.072169 * b;
    let z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Counts per bin of L, a and b over any number of images.
#[derive(Clone, Debug, PartialEq)]
pub struct LabHistograms {
    pub counts: [Vec<u64>; 3],
}

impl Default for LabHistograms {
    fn default() -> Self {
        LabHistograms { counts: LAB_CHANNELS.map(|(_, _, _, bins)| vec![0; bins]) }
    }
}

impl LabHistograms {
    /// Adds the pixels of a planar RGB image (`3 * h * w` values in [-1, 1]).
    pub fn add(&mut self, planar: &[f32]) {
        assert!(planar.len().is_multiple_of(3), "colour histogram: {} values are not 3 planes", planar.len());
        let hw = planar.len() / 3;
        for i in 0..hw {
            let rgb = [0, 1, 2].map(|c| (planar[c * hw + i] as f64 + 1.0) / 2.0);
            let lab = srgb_to_lab(rgb);
            for (k, (_, lo, hi, bins)) in LAB_CHANNELS.iter().enumerate() {
                let t = ((lab[k] - lo) / (hi - lo) * *bins as f64).floor();
                self.counts[k][(t.max(0.0) as usize).min(bins - 1)] += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &LabHistograms) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
    }

    /// Channel `k` as probabilities (all zero when empty).
    pub fn probabilities(&self, k: usize) -> Vec<f64> {
        let total = self.counts[k].iter().sum::<u64>().max(1) as f64;
        self.counts[k].iter().map(|&c| c as f64 / total).collect()
    }

    /// Histogram intersection per channel: sum over bins of min(p, q), 1 for identical
    /// distributions and 0 for disjoint ones (the paper's Table 5).
    pub fn intersection(&self, other: &LabHistograms) -> [f64; 3] {
        [0, 1, 2].map(|k| {
            let (p, q) = (self.probabilities(k), other.probabilities(k));
            p.iter().zip(&q).map(|(a, b)| a.min(*b)).sum()
        })
    }
}

/// Histograms of every image in `images` (each planar RGB in [-1, 1]).
pub fn lab_histograms<'a>(images: impl IntoIterator<Item = &'a [f32]>) -> LabHistograms {
    let mut h = LabHistograms::default();
    images.into_iter().for_each(|img| h.add(img));
    h
}

/// One SVG per channel plotting log10 P(value) of each named distribution (the paper's
/// Figure 7); empty bins are left out of the curve. Width 260 x height 180 pixels each.
pub fn log_probability_svg(k: usize, series: &[(&str, &LabHistograms)]) -> String {
    const COLOURS: [&str; 6] = ["#222", "#d33", "#36c", "#2a2", "#c6c", "#e90"];
    let (name, lo, hi, bins) = LAB_CHANNELS[k];
    let (w, h, floor) = (260.0, 180.0, -6.0f64);
    let x = |i: usize| 30.0 + (i as f64 + 0.5) / bins as f64 * (w - 40.0);
    let y = |lp: f64| 10.0 + (lp.max(floor) / floor) * (h - 40.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"10\">\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{name} ({lo}..{hi})</text>\
         <text x=\"2\" y=\"14\">log P</text><text x=\"2\" y=\"{}\">{floor}</text>",
        w / 2.0,
        h - 4.0,
        h - 30.0
    );
    for (s, (label, hist)) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        let points: Vec<String> = hist
            .probabilities(k)
            .iter()
            .enumerate()
            .filter(|(_, &p)| p > 0.0)
            .map(|(i, &p)| format!("{:.1},{:.1}", x(i), y(p.log10())))
            .collect();
        svg += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"{colour}\">{}</text>",
            points.join(" "),
            w - 90.0,
            20.0 + 12.0 * s as f64,
            html_escape(label)
        );
    }
    svg + "</svg>"
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
