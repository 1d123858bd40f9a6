//! Layers and models: names, shapes and counts against the reference files, forward
//! shapes, state dict round trips, batch-norm statistics, dropout streams, train/eval,
//! and a tiny pix2pix training loop.

use engine::backend::DType;
use engine::nn::{
    define_d, define_g, init, parse_netg, summary, Activation, BatchNorm2d, Dropout, Entry, Module,
    NLayerDiscriminator, NetG, Norm, PixelDiscriminator, ResnetGenerator, StateData, StateEntry,
    UnetGenerator, Vgg19, VggPooling, VGG19_LAYERS,
};
use engine::{no_grad, Device, Tensor};
use std::collections::HashMap;

fn dev() -> Device {
    Device::cpu()
}

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, seed, -1.0, 1.0, DType::F32, &dev())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec_f32().iter().zip(b.to_vec_f32()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

// ---- reference files -----------------------------------------------------------------

struct Reference {
    trainable: usize,
    /// (name, shape, dtype)
    entries: Vec<(String, Vec<usize>, String)>,
}

fn parse_shape(s: &str) -> Vec<usize> {
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    inner.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect()
}

fn read_reference(file: &str) -> Reference {
    let path = format!("{}/tests/data/reference/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut trainable = None;
    let mut count = None;
    let mut entries = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# trainable parameters: ") {
            let (t, e) = h.split_once("; entries: ").unwrap();
            trainable = Some(t.parse().unwrap());
            count = Some(e.parse::<usize>().unwrap());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let f: Vec<&str> = line.split('\t').collect();
            entries.push((f[0].to_string(), parse_shape(f[1]), f[2].to_string()));
        }
    }
    assert_eq!(entries.len(), count.unwrap(), "{file}: entry count in the header");
    Reference { trainable: trainable.unwrap(), entries }
}

/// (name, shape, dtype) of a module's state dict, without copying data.
fn layout(m: &dyn Module) -> Vec<(String, Vec<usize>, String)> {
    let mut out = Vec::new();
    m.visit("", &mut |name, e| match e {
        Entry::Param(t, _) | Entry::Buffer(t) => {
            out.push((name.to_string(), t.shape().to_vec(), "float32".to_string()))
        }
        Entry::Counter(_) => out.push((name.to_string(), vec![], "int64".to_string())),
        Entry::Rng(_) => {}
    });
    out
}

fn check_against_reference(file: &str, m: &dyn Module) {
    let r = read_reference(file);
    let ours = layout(m);
    for (i, (a, b)) in ours.iter().zip(&r.entries).enumerate() {
        assert_eq!(a, b, "{file}: entry {i} differs");
    }
    assert_eq!(ours.len(), r.entries.len(), "{file}: number of entries");
    assert_eq!(m.num_parameters(), r.trainable, "{file}: trainable parameters");
    let named = m.named_parameters();
    assert!(named.iter().all(|(_, t)| t.requires_grad()), "{file}: every parameter requires grad");
    assert!(
        named.iter().all(|(n, _)| !n.contains("running") && !n.contains("num_batches")),
        "{file}: buffers are not parameters"
    );
}

#[test]
fn unet_names_shapes_counts_match_reference() {
    let d = dev();
    for (size, downs) in [(256, 8), (128, 7)] {
        assert_eq!(parse_netg(&format!("unet_{size}")).unwrap(), downs);
        for norm in [Norm::Batch, Norm::Instance] {
            let g = UnetGenerator::zeroed(3, 3, downs, 64, norm, true, &d);
            check_against_reference(&format!("unet_{size}_{}.txt", norm.name()), &g);
        }
    }
}

#[test]
fn resnet_names_shapes_counts_match_reference() {
    let d = dev();
    for (name, blocks) in [("resnet_9blocks", 9), ("resnet_6blocks", 6)] {
        assert_eq!(NetG::parse(name).unwrap(), NetG::Resnet { n_blocks: blocks });
        let g = ResnetGenerator::zeroed(3, 3, blocks, 64, Norm::Instance, false, &d);
        check_against_reference(&format!("{name}_instance.txt"), &g);
        let via_define = define_g(name, 3, 3, 64, Norm::Instance, false, 1, &d).unwrap();
        assert_eq!(layout(&via_define), layout(&g));
    }
}

#[test]
fn resnet_names_with_batch_norm_and_dropout_follow_the_reference_indices() {
    // Batch norm: no conv bias except the last; Dropout sits at conv_block.4, shifting the
    // second pad/conv/norm to 5/6/7 (the reference's ResnetBlock.build_conv_block).
    let g = ResnetGenerator::zeroed(3, 2, 2, 4, Norm::Batch, true, &dev());
    let names: Vec<String> = layout(&g).into_iter().map(|(n, _, _)| n).collect();
    for want in [
        "model.1.weight",
        "model.2.running_mean",
        "model.10.conv_block.1.weight",
        "model.10.conv_block.2.num_batches_tracked",
        "model.10.conv_block.6.weight",
        "model.10.conv_block.7.weight",
        "model.11.conv_block.7.running_var",
        "model.12.weight",
        "model.13.bias",
        "model.15.weight",
        "model.19.weight",
        "model.19.bias",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n == "model.1.bias" || n == "model.12.bias"), "batch norm: no conv bias");
    assert_eq!(g.rng_state().len(), 2, "one dropout stream per block");
    let none = ResnetGenerator::zeroed(3, 3, 1, 4, Norm::None, false, &dev());
    assert_eq!(
        layout(&none).into_iter().map(|(n, _, _)| n).collect::<Vec<_>>(),
        ["model.1.weight", "model.4.weight", "model.7.weight", "model.10.conv_block.1.weight"]
            .into_iter()
            .chain(["model.10.conv_block.5.weight", "model.11.weight", "model.14.weight"])
            .chain(["model.18.weight", "model.18.bias"])
            .collect::<Vec<_>>()
    );
}

#[test]
fn resnet_forward_shape_and_summary_agree() {
    let d = dev();
    let mut g = ResnetGenerator::new(3, 2, 2, 4, Norm::Instance, false, 5, &d);
    g.eval();
    let _guard = no_grad();
    for (h, w) in [(8, 8), (12, 20)] {
        let y = g.forward(&rand(&[2, 3, h, w], 1));
        assert_eq!(y.shape(), [2, 2, h, w]);
        assert_eq!(g.output_shape(&[2, 3, h, w]), y.shape());
        assert!(y.to_vec_f32().iter().all(|v| v.abs() < 1.0), "tanh output");
    }
}

#[test]
fn discriminator_names_shapes_counts_match_reference() {
    let d = dev();
    for norm in [Norm::Batch, Norm::Instance] {
        let net = NLayerDiscriminator::zeroed(6, 64, 3, norm, &d);
        check_against_reference(&format!("patchgan_n3_{}.txt", norm.name()), &net);
    }
    check_against_reference("pixelgan_batch.txt", &PixelDiscriminator::zeroed(6, 64, Norm::Batch, &d));
}

#[test]
fn vgg19_names_shapes_counts_match_reference() {
    let path = format!("{}/tests/data/reference/vgg19_features.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut expected = Vec::new();
    let mut layer_names = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f[0].ends_with(".weight") || f[0].ends_with(".bias") {
            expected.push((f[0].to_string(), parse_shape(f[1]), "float32".to_string()));
            if f[0].ends_with(".weight") {
                // "conv1_1 (pad 1)" names the layer of features.N
                let n: usize = f[0].split('.').nth(1).unwrap().parse().unwrap();
                assert_eq!(VGG19_LAYERS[n], f[2].split(' ').next().unwrap());
                layer_names += 1;
            }
        } else {
            let n: usize = f[0].trim_start_matches("features.").parse().unwrap();
            assert_eq!(VGG19_LAYERS[n], f[2], "name of features.{n}");
            layer_names += 1;
        }
    }
    assert_eq!(layer_names, VGG19_LAYERS.len());
    let vgg = Vgg19::new(VggPooling::Max, "pool5", &dev()).unwrap();
    assert_eq!(layout(&vgg), expected);
    assert_eq!(vgg.num_parameters(), 20_024_384);
    assert_eq!(Vgg19::new(VggPooling::Avg, "conv5_1", &dev()).unwrap().num_parameters(), 12_944_960);
    assert!(Vgg19::new(VggPooling::Max, "relu6_1", &dev()).is_err());
}

#[test]
fn norm_none_keeps_reference_indices_without_biases() {
    let net = NLayerDiscriminator::zeroed(6, 8, 3, Norm::None, &dev());
    let names: Vec<String> = net.state_dict().into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "model.0.weight",
            "model.0.bias",
            "model.2.weight",
            "model.5.weight",
            "model.8.weight",
            "model.11.weight",
            "model.11.bias"
        ]
    );
    let x = rand(&[1, 6, 32, 32], 1);
    assert_eq!(net.forward(&x).shape(), &[1, 1, 2, 2]);
}

#[test]
fn parse_netg_accepts_powers_of_two_from_32() {
    assert_eq!(parse_netg("unet_32").unwrap(), 5);
    assert_eq!(parse_netg("unet_512").unwrap(), 9);
    for bad in ["unet_16", "unet_100", "resnet_9blocks", "unet_", "256"] {
        let e = parse_netg(bad).unwrap_err().to_string();
        assert!(e.contains(bad), "{e}");
    }
    assert!(Norm::parse("batch").is_ok() && Norm::parse("layer").is_err());
    let d = dev();
    let g = define_g("unet_64", 3, 3, 4, Norm::Batch, true, 1, &d).unwrap();
    assert_eq!(g.netg(), engine::nn::NetG::Unet { num_downs: 6 });
    assert!(define_g("unet_63", 3, 3, 4, Norm::Batch, true, 1, &d).is_err());
    let names = |m: Box<dyn Module>| m.state_dict().pop().unwrap().name;
    assert_eq!(names(define_d("basic", 6, 4, 5, Norm::Instance, 1, &d).unwrap()), "model.11.bias");
    assert_eq!(names(define_d("n_layers", 6, 4, 2, Norm::Instance, 1, &d).unwrap()), "model.8.bias");
    assert_eq!(names(define_d("pixel", 6, 4, 3, Norm::Batch, 1, &d).unwrap()), "net.5.weight");
    assert!(define_d("patch", 6, 4, 3, Norm::Batch, 1, &d).is_err());
}

// ---- shapes ------------------------------------------------------------------------------

#[test]
fn forward_shapes_equal_arithmetic_shapes() {
    let d = dev();
    let g = UnetGenerator::new(3, 2, 5, 4, Norm::Batch, true, 1, &d);
    let x = rand(&[2, 3, 32, 32], 2);
    let y = g.forward(&x);
    assert_eq!(y.shape(), &[2, 2, 32, 32]);
    assert_eq!(g.output_shape(&[2, 3, 32, 32]), y.shape());
    assert!(y.to_vec_f32().iter().all(|v| v.abs() < 1.0), "tanh output");
    // A non-square multiple of 32.
    assert_eq!(g.forward(&rand(&[1, 3, 64, 32], 3)).shape(), &[1, 2, 64, 32]);

    let dnet = NLayerDiscriminator::new(6, 4, 3, Norm::Batch, 1, &d);
    let x = rand(&[1, 6, 64, 64], 4);
    let y = dnet.forward(&x);
    assert_eq!(y.shape(), &[1, 1, 6, 6]);
    assert_eq!(dnet.output_shape(&[1, 6, 64, 64]), y.shape());
    assert_eq!(dnet.output_shape(&[1, 6, 256, 256]), [1, 1, 30, 30], "PatchGAN on 256x256");

    let p = PixelDiscriminator::new(6, 4, Norm::Batch, 1, &d);
    assert_eq!(p.forward(&rand(&[2, 6, 5, 7], 5)).shape(), &[2, 1, 5, 7]);
}

#[test]
fn summaries_list_layers_shapes_and_reference_counts() {
    let s = summary("unet_256", None).unwrap();
    assert!(s.contains("trainable parameters: 54,413,955"), "{s}");
    assert!(s.contains("output [1, 3, 256, 256]"), "{s}");
    // innermost down-convolution reaches 1x1
    assert!(s.contains("[1, 512, 1, 1]"), "{s}");
    assert!(summary("unet_128", None).unwrap().contains("trainable parameters: 41,828,995"));
    let p = summary("patchgan", None).unwrap();
    assert!(p.contains("trainable parameters: 2,768,705") && p.contains("output [1, 1, 30, 30]"), "{p}");
    assert!(summary("pixelgan", None).unwrap().contains("trainable parameters: 9,024"));
    let v = summary("vgg19", None).unwrap();
    assert!(
        v.contains("relu5_1")
            && v.contains("trainable parameters: 20,024,384")
            && v.contains("output [1, 512, 7, 7]"),
        "{v}"
    );
    let r = summary("resnet_9blocks", None).unwrap();
    assert!(r.contains("trainable parameters: 11,378,179"), "{r}");
    assert!(
        r.contains("model.10.conv_block.0")
            && r.contains("ReflectionPad2d(1)")
            && r.contains("[1, 3, 256, 256]")
    );
    assert!(summary("resnet_6blocks", Some(64)).unwrap().contains("trainable parameters: 7,837,699"));
    assert!(summary("resnet_9blocks", Some(30)).is_err());
    assert!(summary("resnet", None).is_err());
    assert!(summary("unet_256", Some(100)).is_err());
    assert!(summary("patchgan", Some(8)).is_err());
}

// ---- initialisation ----------------------------------------------------------------------

fn stats(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn init_follows_pix2pix_and_is_seeded() {
    let d = dev();
    let g = UnetGenerator::new(3, 3, 5, 8, Norm::Batch, false, 7, &d);
    let mut seen = Vec::new();
    for (name, t) in g.named_parameters() {
        let v = t.to_vec_f32();
        let is_bn = name.ends_with("weight") && t.shape().len() == 1;
        if name.ends_with("bias") {
            assert!(v.iter().all(|&x| x == 0.0), "{name} zero");
        } else if v.len() > 500 {
            let (m, s) = stats(&v);
            let mean = if is_bn { 1.0 } else { 0.0 };
            assert!((m - mean).abs() < 0.01 && (s - 0.02).abs() < 0.005, "{name}: mean {m} std {s}");
        }
        if !name.ends_with("bias") {
            seen.push(bits(&v[..v.len().min(8)]));
        }
    }
    // Every parameter has its own stream.
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "two parameters share values");
    // Same seed, same values; another seed, other values.
    let again = UnetGenerator::new(3, 3, 5, 8, Norm::Batch, false, 7, &d);
    let other = UnetGenerator::new(3, 3, 5, 8, Norm::Batch, false, 8, &d);
    assert_eq!(g.state_dict(), again.state_dict());
    assert_ne!(g.state_dict(), other.state_dict());
}

// ---- state dicts ----------------------------------------------------------------------------

#[test]
fn state_dict_round_trip_is_bit_exact() {
    let d = dev();
    let mut a = UnetGenerator::new(3, 3, 6, 4, Norm::Batch, true, 11, &d);
    // Move running statistics, counters and dropout streams away from their initial values.
    for i in 0..3 {
        let _ = a.forward(&rand(&[2, 3, 64, 64], 100 + i));
    }
    let sd = a.state_dict();
    let rng = a.rng_state();
    assert_eq!(rng.len(), 1, "unet_64 has one dropout block");
    let counters: Vec<&StateEntry> = sd.iter().filter(|e| e.name.ends_with("num_batches_tracked")).collect();
    assert!(
        !counters.is_empty()
            && counters.iter().all(|e| e.data == StateData::I64(vec![3]) && e.shape.is_empty())
    );

    let mut b = UnetGenerator::zeroed(3, 3, 6, 4, Norm::Batch, true, &d);
    let ids: Vec<usize> = b.parameters().iter().map(|t| t.id()).collect();
    b.load_state_dict(&sd).unwrap();
    b.set_rng_state(&rng).unwrap();
    assert_eq!(ids, b.parameters().iter().map(|t| t.id()).collect::<Vec<_>>(), "loading keeps parameter ids");
    let sd_b = b.state_dict();
    assert_eq!(sd.len(), sd_b.len());
    for (x, y) in sd.iter().zip(&sd_b) {
        assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
        match (&x.data, &y.data) {
            (StateData::F32(u), StateData::F32(v)) => assert_eq!(bits(u), bits(v), "{}", x.name),
            (StateData::I64(u), StateData::I64(v)) => assert_eq!(u, v),
            _ => panic!("{}: dtype changed", x.name),
        }
    }
    // Same state, same outputs: in training mode (same dropout masks) and in eval mode.
    let x = rand(&[1, 3, 64, 64], 5);
    assert_eq!(bits(&a.forward(&x).to_vec_f32()), bits(&b.forward(&x).to_vec_f32()));
    a.eval();
    b.eval();
    assert_eq!(bits(&a.forward(&x).to_vec_f32()), bits(&b.forward(&x).to_vec_f32()));
}

#[test]
fn load_state_dict_names_the_first_bad_entry_and_changes_nothing() {
    let d = dev();
    let m = NLayerDiscriminator::new(6, 4, 2, Norm::Batch, 1, &d);
    let good = NLayerDiscriminator::new(6, 4, 2, Norm::Batch, 2, &d).state_dict();
    let before = m.state_dict();

    let mut missing = good.clone();
    missing.retain(|e| e.name != "model.3.running_var");
    let err = m.load_state_dict(&missing).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("model.3.running_var"), "{err}");

    let mut extra = good.clone();
    extra.push(StateEntry::f32("model.99.weight", &[1], vec![0.0]));
    let err = m.load_state_dict(&extra).unwrap_err().to_string();
    assert!(err.contains("unexpected") && err.contains("model.99.weight"), "{err}");

    let mut shaped = good.clone();
    shaped[2] = StateEntry::f32(&shaped[2].name.clone(), &[4, 4, 4, 8], vec![0.0; 512]);
    let err = m.load_state_dict(&shaped).unwrap_err().to_string();
    assert!(err.contains("model.2.weight") && err.contains("[4, 4, 4, 8]"), "{err}");

    let mut typed = good.clone();
    let k = typed.iter().position(|e| e.name.ends_with("num_batches_tracked")).unwrap();
    typed[k] = StateEntry::f32(&typed[k].name.clone(), &[], vec![0.0]);
    let err = m.load_state_dict(&typed).unwrap_err().to_string();
    assert!(err.contains("num_batches_tracked") && err.contains("int64"), "{err}");

    let mut dup = good.clone();
    dup.push(good[0].clone());
    assert!(m.load_state_dict(&dup).unwrap_err().to_string().contains("duplicate"));

    assert_eq!(m.state_dict(), before, "a failed load changes nothing");
    m.load_state_dict(&good).unwrap();
    assert_eq!(m.state_dict(), good);
}

// ---- batch norm -------------------------------------------------------------------------------

#[test]
fn batch_norm_running_stats_follow_hand_computation() {
    let d = dev();
    let (n, c, hw) = (2, 3, 5);
    let bn = BatchNorm2d::new(c, &d);
    bn.weight.assign_f32(&[1.5, -0.5, 2.0]);
    bn.bias.assign_f32(&[0.1, 0.2, -0.3]);
    let mut rm = vec![0.0f64; c];
    let mut rv = vec![1.0f64; c];
    for step in 0..4u64 {
        let x = Tensor::rand_uniform(&[n, c, 1, hw], 40 + step, -2.0, 3.0, DType::F32, &d);
        let xv = x.to_vec_f32();
        let y = bn.forward(&x).to_vec_f32();
        for ch in 0..c {
            let vals: Vec<f64> = (0..n)
                .flat_map(|i| (0..hw).map(move |j| (i, j)))
                .map(|(i, j)| xv[(i * c + ch) * hw + j] as f64)
                .collect();
            let cnt = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / cnt;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / cnt;
            rm[ch] = 0.9 * rm[ch] + 0.1 * mean;
            rv[ch] = 0.9 * rv[ch] + 0.1 * var * cnt / (cnt - 1.0);
            let (w, b) = ([1.5, -0.5, 2.0][ch], [0.1, 0.2, -0.3][ch]);
            for (k, v) in vals.iter().enumerate() {
                let (i, j) = (k / hw, k % hw);
                let expect = (v - mean) / (var + 1e-5).sqrt() * w + b;
                let got = y[(i * c + ch) * hw + j] as f64;
                assert!((got - expect).abs() < 1e-4, "step {step} channel {ch}: {got} vs {expect}");
            }
        }
        for ch in 0..c {
            assert!(
                (bn.running_mean.to_vec_f32()[ch] as f64 - rm[ch]).abs() < 1e-5,
                "running_mean after step {step}"
            );
            assert!(
                (bn.running_var.to_vec_f32()[ch] as f64 - rv[ch]).abs() < 1e-5,
                "running_var after step {step}"
            );
        }
    }
    assert_eq!(bn.num_batches_tracked.get(), 4);
    // Eval uses the running statistics and leaves them alone.
    let mut bn = bn;
    bn.eval();
    let x = Tensor::rand_uniform(&[1, c, 1, hw], 99, -1.0, 1.0, DType::F32, &d);
    let xv = x.to_vec_f32();
    let y = bn.forward(&x).to_vec_f32();
    for ch in 0..c {
        let (w, b) = ([1.5, -0.5, 2.0][ch], [0.1, 0.2, -0.3][ch]);
        for j in 0..hw {
            let expect = (xv[ch * hw + j] as f64 - rm[ch]) / (rv[ch] + 1e-5).sqrt() * w + b;
            assert!((y[ch * hw + j] as f64 - expect).abs() < 1e-4);
        }
    }
    assert_eq!(bn.num_batches_tracked.get(), 4);
}

// ---- dropout and modes ----------------------------------------------------------------------------

#[test]
fn dropout_streams_are_reproducible_and_restorable() {
    let x = Tensor::full(&[1, 4, 8, 8], 1.0, DType::F32, &dev());
    let a = Dropout::new(0.5, 123);
    let b = Dropout::new(0.5, 123);
    let a1 = a.forward(&x).to_vec_f32();
    assert_eq!(a1, b.forward(&x).to_vec_f32(), "same seed, same mask");
    assert!(a1.iter().all(|&v| v == 0.0 || v == 2.0), "inverted dropout scales by 1/(1-p)");
    let kept = a1.iter().filter(|&&v| v != 0.0).count();
    assert!((96..=160).contains(&kept), "about half kept: {kept}");
    let saved = a.rng_state();
    let a2 = a.forward(&x).to_vec_f32();
    assert_ne!(a1, a2, "each call draws a new mask");
    let c = Dropout::new(0.5, 0);
    c.set_rng_state(&saved).unwrap();
    assert_eq!(c.forward(&x).to_vec_f32(), a2, "restored stream draws the same next mask");
    assert!(c.set_rng_state(&[("other".into(), 1)]).is_err());
    let mut e = Dropout::new(0.5, 1);
    e.eval();
    assert_eq!(e.forward(&x).to_vec_f32(), x.to_vec_f32(), "eval: identity");
}

#[test]
fn train_and_eval_differ_only_where_they_should() {
    let d = dev();
    let x = rand(&[2, 3, 64, 64], 9);
    // Batch norm + dropout: training outputs vary with the dropout stream; eval is fixed.
    let mut g = UnetGenerator::new(3, 3, 6, 4, Norm::Batch, true, 3, &d);
    let t1 = g.forward(&x);
    let t2 = g.forward(&x);
    assert!(max_abs_diff(&t1, &t2) > 1e-4, "dropout masks differ between training steps");
    g.eval();
    let e1 = g.forward(&x);
    let e2 = g.forward(&x);
    assert_eq!(bits(&e1.to_vec_f32()), bits(&e2.to_vec_f32()));
    assert!(max_abs_diff(&t1, &e1) > 1e-4);
    // Instance norm, no dropout: no state, train == eval.
    let mut h = UnetGenerator::new(3, 3, 5, 4, Norm::Instance, false, 3, &d);
    let x = rand(&[1, 3, 32, 32], 10);
    let t = h.forward(&x);
    h.eval();
    assert_eq!(bits(&t.to_vec_f32()), bits(&h.forward(&x).to_vec_f32()));
    // Batch norm without dropout: eval uses running stats.
    let mut dnet = NLayerDiscriminator::new(6, 4, 2, Norm::Batch, 1, &d);
    let x = rand(&[2, 6, 32, 32], 11);
    let t = dnet.forward(&x);
    dnet.eval();
    assert!(max_abs_diff(&t, &dnet.forward(&x)) > 1e-4);
}

// ---- U-Net structure ---------------------------------------------------------------------------------

/// The reference U-Net written out by hand from its parameter names (instance norm, so
/// no state): checks the nesting, and that the skip carries LeakyReLU(x) as the
/// reference's in-place activation makes it.
fn manual_unet(p: &HashMap<String, Tensor>, x: &Tensor, num_downs: usize) -> Tensor {
    fn conv(p: &HashMap<String, Tensor>, name: &str, x: &Tensor) -> Tensor {
        x.conv2d(&p[&format!("{name}.weight")], p.get(&format!("{name}.bias")), 2, 1)
    }
    fn up(p: &HashMap<String, Tensor>, name: &str, x: &Tensor) -> Tensor {
        x.relu().conv_transpose2d(&p[&format!("{name}.weight")], p.get(&format!("{name}.bias")), 2, 1, 0)
    }
    fn block(
        p: &HashMap<String, Tensor>,
        prefix: &str,
        x: &Tensor,
        depth: usize,
        innermost: usize,
    ) -> Tensor {
        let h = x.leaky_relu(0.2);
        let down = conv(p, &format!("{prefix}1"), &h);
        let u = if depth == innermost {
            up(p, &format!("{prefix}3"), &down)
        } else {
            let inner = block(
                p,
                &format!("{prefix}3.model."),
                &down.instance_norm(None, None, 1e-5),
                depth + 1,
                innermost,
            );
            up(p, &format!("{prefix}5"), &inner)
        };
        Tensor::cat_channels(&[&h, &u.instance_norm(None, None, 1e-5)])
    }
    let d0 = conv(p, "model.model.0", x);
    let inner = block(p, "model.model.1.model.", &d0, 1, num_downs - 1);
    up(p, "model.model.3", &inner).tanh()
}

#[test]
fn unet_forward_equals_hand_written_reference_structure() {
    let g = UnetGenerator::new(3, 2, 6, 4, Norm::Instance, false, 21, &dev());
    let p: HashMap<String, Tensor> = g.named_parameters().into_iter().collect();
    let x = rand(&[1, 3, 64, 64], 22);
    let expect = manual_unet(&p, &x, 6);
    let got = g.forward(&x);
    assert!(max_abs_diff(&got, &expect) < 1e-6, "{}", max_abs_diff(&got, &expect));
}

#[test]
fn unet_input_gradient_matches_finite_differences() {
    // End to end through skips (tensors used twice), norms, activations and the tanh.
    // The module's f32 gradient is compared with central differences of the same
    // function in f64 (the hand-written structure above, proven equal to the module),
    // where differences are exact enough to mean something.
    let d = dev();
    let g = UnetGenerator::new(3, 3, 5, 4, Norm::Instance, false, 31, &d);
    let x = rand(&[1, 3, 32, 32], 32);
    let w = rand(&[1, 3, 32, 32], 33);
    x.set_requires_grad(true);
    let gx = g.forward(&x).mul(&w).sum().backward().get(&x).unwrap().to_vec_f32();

    let to64 = |t: &Tensor| Tensor::from_f64(&t.to_vec_f64(), t.shape(), DType::F64, &d);
    let p64: HashMap<String, Tensor> =
        g.named_parameters().iter().map(|(n, t)| (n.clone(), to64(t))).collect();
    let (x64, w64) = (to64(&x), to64(&w));
    let loss64 = |x: &Tensor| manual_unet(&p64, x, 5).mul(&w64).sum().item();
    let _guard = no_grad();
    for seed in [34, 35] {
        let v = Tensor::rand_uniform(&[1, 3, 32, 32], seed, -1.0, 1.0, DType::F64, &d);
        let h = 1e-6;
        let numeric = (loss64(&x64.add(&v.scale(h))) - loss64(&x64.add(&v.scale(-h)))) / (2.0 * h);
        let analytic: f64 = gx.iter().zip(v.to_vec_f64()).map(|(a, b)| *a as f64 * b).sum();
        assert!(
            (analytic - numeric).abs() < 1e-4 * numeric.abs().max(1e-2),
            "direction {seed}: analytic {analytic} vs numeric {numeric}"
        );
    }
}

// ---- VGG -------------------------------------------------------------------------------------------

#[test]
fn vgg_taps_pooling_freeze_and_partial_load() {
    let d = dev();
    let vgg = Vgg19::new(VggPooling::Max, "relu3_1", &d).unwrap();
    init::init_parameters(&vgg, 5);
    vgg.freeze();
    assert!(vgg.parameters().iter().all(|t| !t.requires_grad()));
    let img = Tensor::rand_uniform(&[1, 3, 16, 20], 6, 0.0, 1.0, DType::F32, &d);
    img.set_requires_grad(true);
    let x = Vgg19::normalize(&img);
    let v = img.to_vec_f32();
    let xn = x.to_vec_f32();
    assert!(
        (xn[0] - (v[0] - 0.485) / 0.229).abs() < 1e-5
            && (xn[16 * 20] - (v[16 * 20] - 0.456) / 0.224).abs() < 1e-5
    );
    let taps = vgg.forward_taps(&x, &["relu2_1", "conv1_1", "relu1_1", "relu3_1"]);
    let names: Vec<&str> = taps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["relu2_1", "conv1_1", "relu1_1", "relu3_1"]);
    assert_eq!(taps[0].1.shape(), &[1, 128, 8, 10]);
    assert_eq!(taps[1].1.shape(), &[1, 64, 16, 20]);
    assert_eq!(taps[3].1.shape(), &[1, 256, 4, 5]);
    assert_eq!(
        bits(&taps[1].1.relu().to_vec_f32()),
        bits(&taps[2].1.to_vec_f32()),
        "relu1_1 = relu(conv1_1)"
    );
    // Only the image receives a gradient.
    let loss = taps[3].1.gram().sum().add(&taps[0].1.mean());
    let grads = loss.backward();
    assert_eq!(grads.len(), 1);
    assert!(grads.get(&img).unwrap().to_vec_f32().iter().any(|&g| g != 0.0));

    // Average pooling changes what lies after the first pool.
    let avg = Vgg19::new(VggPooling::Avg, "relu3_1", &d).unwrap();
    avg.load_from(&vgg.state_dict()).unwrap();
    let t_avg = avg.forward_taps(&x, &["relu1_2", "relu2_1"]);
    let t_max = vgg.forward_taps(&x, &["relu1_2", "relu2_1"]);
    assert_eq!(bits(&t_avg[0].1.to_vec_f32()), bits(&t_max[0].1.to_vec_f32()));
    assert!(max_abs_diff(&t_avg[1].1, &t_max[1].1) > 1e-4);

    // A shorter extractor loads from a longer state dict; a longer one reports what is missing.
    let short = Vgg19::new(VggPooling::Max, "relu2_1", &d).unwrap();
    short.load_from(&vgg.state_dict()).unwrap();
    assert_eq!(short.state_dict()[..], vgg.state_dict()[..short.state_dict().len()]);
    let long = Vgg19::new(VggPooling::Max, "conv4_1", &d).unwrap();
    let err = long.load_from(&vgg.state_dict()).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("features.12.weight"), "{err}");
    assert!(Vgg19::layer_index("relu4_2").unwrap() == 22 && Vgg19::layer_index("relu9_9").is_err());
}

// ---- training ----------------------------------------------------------------------------------------

fn sgd(params: &[Tensor], grads: &engine::Gradients, lr: f32) {
    let _g = no_grad();
    for p in params {
        if let Some(g) = grads.get(p) {
            let new: Vec<f32> = p.to_vec_f32().iter().zip(g.to_vec_f32()).map(|(w, g)| w - lr * g).collect();
            p.assign_f32(&new);
        }
    }
}

#[test]
fn tiny_pix2pix_training_reduces_l1() {
    let d = dev();
    let g = UnetGenerator::new(3, 3, 5, 8, Norm::Batch, false, 1, &d);
    let dnet = NLayerDiscriminator::new(6, 8, 2, Norm::Batch, 2, &d);
    let (gp, dp) = (g.parameters(), dnet.parameters());
    // A smooth input (a stride-2 U-Net with ngf 8 cannot carry per-pixel noise through
    // its first layer) and a learnable target: a fixed function of it.
    let smooth: Vec<f32> = (0..3 * 32 * 32)
        .map(|i| {
            let (c, y, x) = ((i / 1024) as f32, ((i / 32) % 32) as f32, (i % 32) as f32);
            (0.3 * x * (c + 1.0) + 0.2 * y).sin() * 0.8
        })
        .collect();
    let a = Tensor::from_f32(&smooth, &[1, 3, 32, 32], &d);
    let b = a.scale(-0.8);
    let ones = Tensor::full(&[1, 1, 6, 6], 1.0, DType::F32, &d);
    let zeros = Tensor::zeros(&[1, 1, 6, 6], DType::F32, &d);
    let mut l1s = Vec::new();
    for step in 0..30 {
        let fake = g.forward(&a);
        // D step on the detached fake.
        let d_fake = dnet.forward(&Tensor::cat_channels(&[&a, &fake.detach()]));
        let d_real = dnet.forward(&Tensor::cat_channels(&[&a, &b]));
        let loss_d = d_fake.bce_with_logits(&zeros).add(&d_real.bce_with_logits(&ones)).scale(0.5);
        let gd = loss_d.backward();
        assert!(gp.iter().all(|p| gd.get(p).is_none()), "detach keeps D's loss out of G");
        sgd(&dp, &gd, 0.02);
        // G step: GAN loss + 100 * L1; D's parameters get gradients but are not updated.
        let pred = dnet.forward(&Tensor::cat_channels(&[&a, &fake]));
        let l1 = fake.l1_loss(&b);
        let loss_g = pred.bce_with_logits(&ones).add(&l1.scale(100.0));
        let gg = loss_g.backward();
        if step == 0 {
            assert!(gp.iter().all(|p| gg.get(p).is_some()), "every generator parameter gets a gradient");
        }
        sgd(&gp, &gg, 0.01);
        l1s.push(l1.item());
    }
    // The adversarial term makes single steps noisy: compare the mean of the last five.
    let last = l1s[l1s.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(last < 0.6 * l1s[0], "L1 did not fall enough: {l1s:?}");
}

#[test]
fn activation_and_module_helpers() {
    let x = rand(&[1, 2, 3, 3], 50);
    assert_eq!(Activation::Identity.forward(&x).to_vec_f32(), x.to_vec_f32());
    let y = Activation::LeakyRelu(0.2).forward(&x).to_vec_f32();
    for (a, b) in x.to_vec_f32().iter().zip(y) {
        assert_eq!(b, if *a > 0.0 { *a } else { 0.2 * a });
    }
    let g = UnetGenerator::new(3, 3, 5, 4, Norm::Batch, false, 1, &dev());
    g.freeze();
    assert!(g.parameters().iter().all(|p| !p.requires_grad()));
    g.set_requires_grad(true);
    assert!(g.parameters().iter().all(|p| p.requires_grad()));
    assert!(g.rng_state().is_empty());
}
