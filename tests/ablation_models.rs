//! The paper's architecture variants: the encoder-decoder (U-Net without skips) and the
//! discriminators named by receptive field (Isola et al. 2017, sections 4.3-4.4, appendix 6.1).

use engine::nn::{
    define_d, define_g, nlayer_receptive_field, parse_netd, receptive_field, summary, DiscriminatorKind,
    Module, Norm,
};
use engine::{Device, Tensor};

#[test]
fn receptive_fields_match_hand_computation() {
    // Hand-computed, walking back from one output pixel: field = (field - 1) * stride + kernel.
    // patch16: 1 -> 4 -> 7 -> (7-1)*2+4 = 16; patch70: 16 -> 34 -> 70; patch286: 70 -> 142 -> 286.
    assert_eq!(receptive_field(&[(1, 1); 3]), 1);
    assert_eq!(receptive_field(&[(3, 1), (3, 1)]), 5);
    assert_eq!(nlayer_receptive_field(1), 16);
    assert_eq!(nlayer_receptive_field(3), 70);
    assert_eq!(nlayer_receptive_field(5), 286);
    assert_eq!(parse_netd("pixel", 3).unwrap(), DiscriminatorKind::Pixel);
    assert_eq!(parse_netd("patch16", 3).unwrap(), DiscriminatorKind::NLayer(1));
    assert_eq!(parse_netd("patch70", 3).unwrap(), DiscriminatorKind::NLayer(3));
    assert_eq!(parse_netd("basic", 7).unwrap(), DiscriminatorKind::NLayer(3));
    assert_eq!(parse_netd("patch286", 3).unwrap(), DiscriminatorKind::NLayer(5));
    assert_eq!(parse_netd("n_layers", 2).unwrap(), DiscriminatorKind::NLayer(2));
    let err = parse_netd("patch64", 3).unwrap_err().to_string();
    assert!(err.contains("patch16") && err.contains("patch286"), "{err}");
    assert!(parse_netd("n_layers", 0).is_err());
    for (name, rf) in [("pixelgan", 1), ("patch16", 16), ("patchgan", 70), ("patch70", 70), ("patch286", 286)]
    {
        let s = summary(name, None).unwrap();
        assert!(s.contains(&format!("receptive field {rf}x{rf}")), "{name}: {s}");
    }
}

/// A real forward confirms the computed field: perturbing one input pixel changes exactly
/// the outputs whose field contains it, and their span is the field.
#[test]
fn patch16_field_is_what_a_forward_sees() {
    let dev = Device::cpu();
    let d = define_d("patch16", 1, 2, 3, Norm::None, 5, &dev).unwrap();
    let n = 40;
    let x: Vec<f32> = (0..n * n).map(|i| ((i * 7919) % 97) as f32 / 50.0 - 1.0).collect();
    let base = d.forward(&Tensor::from_f32(&x, &[1, 1, n, n], &dev)).to_vec_f32();
    let mut y = x.clone();
    y[20 * n + 20] += 1.0;
    let moved = d.forward(&Tensor::from_f32(&y, &[1, 1, n, n], &dev)).to_vec_f32();
    let side = (base.len() as f64).sqrt() as usize;
    let changed: Vec<usize> = (0..base.len()).filter(|&i| (base[i] - moved[i]).abs() > 0.0).collect();
    let cols: Vec<usize> = changed.iter().map(|i| i % side).collect();
    let (lo, hi) = (*cols.iter().min().unwrap(), *cols.iter().max().unwrap());
    // One output column per stride-2 step (stride 2 overall) within a 16-pixel field: 16 / 2 = 8 columns.
    assert_eq!(hi - lo + 1, 16 / 2, "changed output columns {lo}..={hi}");
}

#[test]
fn encoder_decoder_is_the_unet_without_skips() {
    let ed = summary("encoder_decoder_256", None).unwrap();
    assert!(!ed.contains("cat("), "the encoder-decoder concatenates nothing:\n{ed}");
    assert!(summary("unet_256", None).unwrap().contains("cat("));
    // U-Net 256 (batch norm) has 54,413,955 parameters. Without skips every upconv but the
    // innermost takes inner_nc instead of 2 * inner_nc channels: minus 16 * inner * outer for
    // (3,64) (64,128) (128,256) (256,512) and three (512,512) blocks = 15,338,496.
    assert!(ed.contains("trainable parameters: 39,075,459"), "{ed}");

    let dev = Device::cpu();
    let g = define_g("encoder_decoder_32", 3, 3, 2, Norm::Batch, true, 7, &dev).unwrap();
    let u = define_g("unet_32", 3, 3, 2, Norm::Batch, true, 7, &dev).unwrap();
    assert!(g.num_parameters() < u.num_parameters());
    let x = Tensor::from_f32(&vec![0.25; 3 * 32 * 32], &[1, 3, 32, 32], &dev);
    assert_eq!(g.forward(&x).shape(), &[1, 3, 32, 32]);
    // Same names as the U-Net (the skips add no parameters, they only widen the upconvs).
    let names = |m: &dyn Module| m.named_parameters().into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(&g), names(&u));
}
