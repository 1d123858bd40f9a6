//! pix2pix end to end on a tiny configuration: training lowers L1, a run killed with
//! SIGKILL and resumed with --continue-train ends with the same weights as an
//! uninterrupted run, test-pix2pix writes images and a page, translate handles other sizes.

use engine::pix2pix::synth::generate_builtin;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("engine-p2p-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dataset(dir: &Path, n_train: usize) -> PathBuf {
    generate_builtin(&dir.join("data"), 32, n_train, 3, 3, 1).unwrap()
}

/// A tiny but complete configuration: unet_32, PatchGAN with 2 layers, batch norm, dropout.
fn train_args(root: &Path, ck: &Path, epochs: usize, decay: usize) -> Vec<String> {
    let s = |x: &str| x.to_string();
    vec![
        s("--device"),
        s("cpu"),
        s("train-pix2pix"),
        s("--dataroot"),
        root.display().to_string(),
        s("--checkpoints-dir"),
        ck.display().to_string(),
        s("--name"),
        s("tiny"),
        s("--netg"),
        s("unet_32"),
        s("--ngf"),
        s("4"),
        s("--netd"),
        s("n_layers"),
        s("--n-layers-d"),
        s("2"),
        s("--ndf"),
        s("4"),
        s("--load-size"),
        s("36"),
        s("--crop-size"),
        s("32"),
        s("--n-epochs"),
        epochs.to_string(),
        s("--n-epochs-decay"),
        decay.to_string(),
        s("--print-freq"),
        s("4"),
        s("--seed"),
        s("3"),
    ]
}

fn run(args: &[String]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "engine {:?} failed:\n{}", args, String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn kill_and_resume_reaches_the_same_weights() {
    let dir = tmp("resume");
    let root = dataset(&dir, 6);
    let (full, cut) = (dir.join("full"), dir.join("cut"));
    run(&train_args(&root, &full, 2, 2));

    // Interrupted run: kill -9 as soon as epoch 1 has been saved, then resume.
    let mut child = Command::new(BIN)
        .args(train_args(&root, &cut, 2, 2))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = cut.join("tiny").join("latest_state.safetensors");
    let t0 = Instant::now();
    while !state.exists() && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut args = train_args(&root, &cut, 2, 2);
    args.push("--continue-train".into());
    let out = run(&args);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for f in ["latest_net_G.safetensors", "latest_net_D.safetensors", "4_net_G.safetensors"] {
        let a = std::fs::read(full.join("tiny").join(f)).unwrap();
        let b = std::fs::read(cut.join("tiny").join(f)).unwrap();
        assert!(a == b, "{f} differs between the uninterrupted and the resumed run");
    }
    // The page and the log exist and the log has no duplicated iterations.
    let web = cut.join("tiny").join("web").join("index.html");
    assert!(std::fs::read_to_string(web).unwrap().contains("<svg"));
    let log = std::fs::read_to_string(cut.join("tiny").join("loss_log.jsonl")).unwrap();
    let iters: Vec<u64> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["iter"].as_u64().unwrap())
        .collect();
    assert!(
        iters.windows(2).filter(|w| w[1] <= w[0]).count() <= 1,
        "at most one restart point in the log: {iters:?}"
    );
}

#[test]
fn training_lowers_l1_and_test_and_translate_work() {
    let dir = tmp("l1");
    let root = dataset(&dir, 8);
    let ck = dir.join("ck");
    let mut args = train_args(&root, &ck, 20, 5);
    args.extend(["--lr".into(), "0.002".into()]);
    run(&args);
    let log = std::fs::read_to_string(ck.join("tiny").join("loss_log.jsonl")).unwrap();
    let l1: Vec<f64> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["G_L1"].as_f64().unwrap())
        .collect();
    let k = 3.min(l1.len() / 2);
    let (first, last) =
        (l1[..k].iter().sum::<f64>() / k as f64, l1[l1.len() - k..].iter().sum::<f64>() / k as f64);
    assert!(last < 0.8 * first, "L1 did not fall: first {first:.3}, last {last:.3} ({l1:?})");

    // test-pix2pix: images for every test file, the page, L1/PSNR printed.
    let results = dir.join("results");
    let out = run(&[
        "--device".into(),
        "cpu".into(),
        "test-pix2pix".into(),
        "--name".into(),
        "tiny".into(),
        "--checkpoints-dir".into(),
        ck.display().to_string(),
        "--results-dir".into(),
        results.display().to_string(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PSNR"), "{text}");
    let images = results.join("tiny").join("test_latest").join("images");
    for stem in ["00000", "00001", "00002"] {
        for kind in ["real_A", "fake_B", "real_B"] {
            assert!(images.join(format!("{stem}_{kind}.png")).exists(), "missing {stem}_{kind}.png");
        }
    }
    assert!(results.join("tiny").join("test_latest").join("index.html").exists());

    // translate at a size that is not a multiple of 32 and not the training size.
    let img = image::RgbImage::from_fn(40, 24, |x, y| image::Rgb([(x * 6) as u8, (y * 10) as u8, 128]));
    let input = dir.join("in.png");
    img.save(&input).unwrap();
    let output = dir.join("out.png");
    run(&[
        "--device".into(),
        "cpu".into(),
        "translate".into(),
        "--checkpoint".into(),
        ck.join("tiny").join("latest_net_G.safetensors").display().to_string(),
        "--input".into(),
        input.display().to_string(),
        "--output".into(),
        output.display().to_string(),
    ]);
    let o = image::open(&output).unwrap();
    assert_eq!((o.width(), o.height()), (40, 24));
}

#[test]
fn bad_input_is_one_clear_line() {
    let dir = tmp("bad");
    let out = Command::new(BIN)
        .args(["--device", "cpu", "train-pix2pix", "--dataroot"])
        .arg(dir.join("nope"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("nope"), "{err}");

    // A checkpoint of another architecture.
    let root = dataset(&dir, 2);
    let ck = dir.join("ck");
    let mut args = train_args(&root, &ck, 1, 0);
    run(&args);
    let i = args.iter().position(|a| a == "--ngf").unwrap();
    args[i + 1] = "8".into();
    args.push("--continue-train".into());
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("latest_state.safetensors"), "{err}");
}

/// Whole-model parity: the same tiny training run through the hand-written kernels in the
/// emulator and on the CPU reference gives the same losses (f32 rounding differs between
/// the two conv implementations, so a relative tolerance of 1e-3 after 12 Adam steps).
#[test]
fn emulator_training_matches_cpu() {
    let dir = tmp("emu");
    let root = dataset(&dir, 6);
    let mut logs = Vec::new();
    for device in ["cpu", "emu"] {
        let ck = dir.join(device);
        let mut args = train_args(&root, &ck, 1, 1);
        args[1] = device.into();
        let i = args.iter().position(|a| a == "--print-freq").unwrap();
        args[i + 1] = "1".into();
        run(&args);
        let log = std::fs::read_to_string(ck.join("tiny").join("loss_log.jsonl")).unwrap();
        let rows: Vec<[f64; 4]> = log
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                ["G_GAN", "G_L1", "D_real", "D_fake"].map(|k| v[k].as_f64().unwrap())
            })
            .collect();
        logs.push(rows);
    }
    assert_eq!(logs[0].len(), 12);
    assert_eq!(logs[0].len(), logs[1].len());
    for (i, (c, e)) in logs[0].iter().zip(&logs[1]).enumerate() {
        for k in 0..4 {
            let rel = (c[k] - e[k]).abs() / c[k].abs().max(1e-3);
            assert!(rel < 1e-3, "step {i} loss {k}: cpu {} emu {}", c[k], e[k]);
        }
    }
}

/// A generator saved by real PyTorch in the reference project's layout (scripts/
/// make_pix2pix_pth_fixture.py) loads by name and computes the same output in eval mode.
#[test]
fn reference_pth_generator_loads_and_matches_pytorch() {
    use engine::nn::Module;
    use engine::pix2pix::model::Arch;
    use engine::pix2pix::options::NormKind;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let arch = Arch {
        input_nc: 3,
        output_nc: 3,
        netg: "unet_32".into(),
        ngf: 2,
        netd: "basic".into(),
        n_layers_d: 3,
        ndf: 64,
        norm: NormKind::Batch,
        dropout: true,
        objective: Default::default(),
    };
    let dev = engine::Device::cpu();
    let (_, mut g) =
        engine::pix2pix::checkpoint::load_generator(&data.join("unet_32_ngf2.pth"), &arch, &dev).unwrap();
    g.eval();
    let n = 3 * 32 * 32;
    let x: Vec<f32> = (0..n).map(|i| (-1.0 + 2.0 * i as f64 / (n - 1) as f64).sin() as f32).collect();
    let _guard = engine::no_grad();
    let y = g.forward(&engine::Tensor::from_f32(&x, &[1, 3, 32, 32], &dev)).to_vec_f32();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("unet_32_ngf2_output.json")).unwrap())
            .unwrap();
    let expected: Vec<f64> =
        expected["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(y.len(), expected.len());
    let worst = y.iter().zip(&expected).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-4, "max difference from PyTorch {worst}");

    // The wrong architecture is one clear error naming the file.
    let wrong = Arch { ngf: 4, ..arch };
    let err = engine::pix2pix::checkpoint::load_generator(&data.join("unet_32_ngf2.pth"), &wrong, &dev)
        .err()
        .unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("unet_32_ngf2.pth") && !msg.contains('\n'), "{msg}");
}

/// The same tiny training run on the emulator with the convolutions on the tensor-core
/// kernels (tf32, bf16) against the CPU's fp32. Tolerances (relative, per loss): the first
/// step is a forward pass of the initial weights, off by the operand rounding of a few
/// convolutions (tf32 2^-11, bf16 2^-8, ~sqrt(layers) of that): 5e-3 / 3e-2. Later steps
/// also follow slightly different Adam trajectories (Adam's normalised step turns small
/// gradient differences into lr-sized weight differences): 5e-2 / 1.5e-1. The precision is
/// recorded in the checkpoint metadata.
#[test]
fn tensor_core_training_on_the_emulator_follows_cpu() {
    let dir = tmp("tc");
    let root = dataset(&dir, 6);
    let losses = |device: &str, precision: Option<&str>| {
        let ck = dir.join(format!("{device}-{}", precision.unwrap_or("fp32")));
        let mut args = train_args(&root, &ck, 1, 1);
        args[1] = device.into();
        let i = args.iter().position(|a| a == "--print-freq").unwrap();
        args[i + 1] = "1".into();
        if let Some(p) = precision {
            args.extend(["--precision".to_string(), p.to_string()]);
        }
        run(&args);
        let log = std::fs::read_to_string(ck.join("tiny").join("loss_log.jsonl")).unwrap();
        let meta = std::fs::read(ck.join("tiny").join("latest_net_G.safetensors")).unwrap();
        let want = format!("\"precision\":\"{}\"", precision.unwrap_or("fp32"));
        assert!(String::from_utf8_lossy(&meta[..4096.min(meta.len())]).contains(&want), "{want}");
        log.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                ["G_GAN", "G_L1", "D_real", "D_fake"].map(|k| v[k].as_f64().unwrap())
            })
            .collect::<Vec<[f64; 4]>>()
    };
    let cpu = losses("cpu", None);
    for (p, first, later) in [("tf32", 5e-3, 5e-2), ("bf16", 3e-2, 1.5e-1)] {
        let emu = losses("emu", Some(p));
        assert_eq!(cpu.len(), emu.len());
        for (i, (c, e)) in cpu.iter().zip(&emu).enumerate() {
            let tol = if i == 0 { first } else { later };
            for k in 0..4 {
                let rel = (c[k] - e[k]).abs() / c[k].abs().max(1e-3);
                assert!(
                    rel < tol,
                    "{p} step {i} loss {k}: cpu {} emu {} (rel {rel:.2e} > {tol})",
                    c[k],
                    e[k]
                );
            }
        }
    }
}
