//! `engine summary MODEL`: a layer table with output shapes and parameter counts.
//! Shapes are computed arithmetically (`Module::summarize`), so even unet_256 is
//! described instantly; tests check them against real forwards on small models.

use super::{
    DiscriminatorKind, Module, NLayerDiscriminator, NetG, Norm, PixelDiscriminator, ResnetGenerator,
    SummaryRow, UnetGenerator, Vgg19, VggPooling, VGG19_LAYERS,
};
use crate::tensor::Device;
use anyhow::{bail, Result};

/// The models `summary` knows, with the reference's default configuration.
pub const SUMMARY_MODELS: [&str; 11] = [
    "unet_256",
    "unet_128",
    "encoder_decoder_256",
    "resnet_9blocks",
    "resnet_6blocks",
    "patchgan",
    "pixelgan",
    "patch16",
    "patch70",
    "patch286",
    "vgg19",
];

/// A layer table for `model` (one of `SUMMARY_MODELS`, or any `unet_N`) at its natural
/// input size, or at `size` x `size` when given. Configuration: the pix2pix defaults
/// (3 -> 3 channels, ngf = ndf = 64, batch norm, dropout in G, 6-channel input to D); the
/// ResNet generators with the CycleGAN defaults (instance norm, no dropout); vgg19 is the whole feature stack (to pool5) with max pooling.
pub fn summary(model: &str, size: Option<usize>) -> Result<String> {
    // Parameters are allocated (zeros) but never computed on.
    let dev = Device::cpu();
    let d_input = vec![1, 6, size.unwrap_or(256), size.unwrap_or(256)];
    let (title, net, input): (String, Box<dyn Module>, Vec<usize>) = match model {
        "patchgan" | "pixelgan" | "patch16" | "patch70" | "patch286" => {
            let name = match model {
                "patchgan" => "basic",
                "pixelgan" => "pixel",
                other => other,
            };
            match super::parse_netd(name, 3)? {
                DiscriminatorKind::NLayer(n) => {
                    let d = NLayerDiscriminator::zeroed(6, 64, n, Norm::Batch, &dev);
                    let rf = d.receptive_field();
                    let title = format!(
                        "NLayerDiscriminator(input_nc 6, ndf 64, n_layers {n}, norm batch), \
                         receptive field {rf}x{rf}"
                    );
                    (title, Box::new(d), d_input)
                }
                DiscriminatorKind::Pixel => {
                    let d = PixelDiscriminator::zeroed(6, 64, Norm::Batch, &dev);
                    let rf = d.receptive_field();
                    let title = format!(
                        "PixelDiscriminator(input_nc 6, ndf 64, norm batch), receptive field {rf}x{rf}"
                    );
                    (title, Box::new(d), d_input)
                }
            }
        }
        "vgg19" => (
            "VGG-19 features (torchvision names), max pooling".into(),
            Box::new(Vgg19::new(VggPooling::Max, "pool5", &dev)?),
            vec![1, 3, size.unwrap_or(224), size.unwrap_or(224)],
        ),
        "resnet_9blocks" | "resnet_6blocks" => {
            let n_blocks = if model == "resnet_9blocks" { 9 } else { 6 };
            let s = size.unwrap_or(NetG::Resnet { n_blocks }.natural_size());
            if !s.is_multiple_of(4) || s < 8 {
                bail!("{model} needs an input side divisible by 4 and at least 8, got {s}");
            }
            (
                format!("ResnetGenerator(input_nc 3, output_nc 3, ngf 64, norm instance, no dropout, n_blocks {n_blocks})"),
                Box::new(ResnetGenerator::zeroed(3, 3, n_blocks, 64, Norm::Instance, false, &dev)),
                vec![1, 3, s, s],
            )
        }
        _ if model.starts_with("unet_") || model.starts_with("encoder_decoder_") => {
            let downs = super::parse_netg(model)?;
            let skips = super::netg_has_skips(model);
            let s = size.unwrap_or(1 << downs);
            if !s.is_multiple_of(1 << downs) {
                bail!("{model} needs an input side divisible by {}, got {s}", 1 << downs);
            }
            (
                format!(
                    "{}(input_nc 3, output_nc 3, num_downs {downs}, ngf 64, norm batch, dropout)",
                    if skips { "UnetGenerator" } else { "EncoderDecoder (U-Net without skips)" }
                ),
                Box::new(UnetGenerator::build(3, 3, downs, 64, Norm::Batch, true, skips, &dev)),
                vec![1, 3, s, s],
            )
        }
        _ => bail!("unknown model `{model}` (expected one of {})", SUMMARY_MODELS.join(", ")),
    };
    if model == "vgg19" && input[2] < 32 {
        bail!("vgg19 needs an input of at least 32x32 (five 2x2 poolings), got {}", input[2]);
    }
    if let Some(Ok(DiscriminatorKind::NLayer(n))) = match model {
        "patchgan" => Some(Ok(DiscriminatorKind::NLayer(3))),
        m if m.starts_with("patch") => Some(super::parse_netd(m, 3)),
        _ => None,
    } {
        // Every stride-2 layer halves the side and the two stride-1 4x4 layers take 3 each.
        let min = (1 << n) * 3;
        if input[2] < min {
            bail!("{model} needs an input of at least {min}x{min}, got {}", input[2]);
        }
    }
    let mut rows = Vec::new();
    let output = net.summarize("", &input, &mut rows);
    if model == "vgg19" {
        for r in &mut rows {
            let i: usize = r.name.trim_start_matches("features.").parse().expect("features.N");
            r.layer = format!("{:<8} {}", VGG19_LAYERS[i], r.layer);
        }
    }
    Ok(format_table(model, &title, &input, &output, &rows, net.num_parameters()))
}

fn format_table(
    model: &str,
    title: &str,
    input: &[usize],
    output: &[usize],
    rows: &[SummaryRow],
    total: usize,
) -> String {
    let shape = |s: &[usize]| format!("{s:?}");
    let wn = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(5);
    let wl = rows.iter().map(|r| r.layer.len()).max().unwrap_or(0).max(5);
    let ws = rows.iter().map(|r| shape(&r.output).len()).max().unwrap_or(0).max(12);
    let mut out = format!("{model}: {title}\ninput {}\n\n", shape(input));
    out += &format!("{:<wn$}  {:<wl$}  {:<ws$}  {:>12}\n", "layer", "type", "output shape", "params");
    out += &format!("{}\n", "-".repeat(wn + wl + ws + 18));
    for r in rows {
        out += &format!(
            "{:<wn$}  {:<wl$}  {:<ws$}  {:>12}\n",
            r.name,
            r.layer,
            shape(&r.output),
            thousands(r.params)
        );
    }
    out += &format!("{}\n", "-".repeat(wn + wl + ws + 18));
    out += &format!("output {}\ntrainable parameters: {}\n", shape(output), thousands(total));
    out
}

/// 54413955 -> "54,413,955".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(54_413_955), "54,413,955");
    }
}
