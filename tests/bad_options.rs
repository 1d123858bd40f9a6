//! Bad options and faults of a run end as one clear line and a non-zero exit, before
//! anything is built or written: pix2pix options and model/size combinations, memory
//! estimates, non-finite losses (training and style), a closed stdout.

mod common;

use common::TempDir;
use engine::nn::{Module, Vgg19, VggPooling};
use engine::pix2pix::synth::generate_builtin;
use engine::Device;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn engine(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `base` with the flags of `extra` added, or replacing the value of the same flag in `base`.
fn merged<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = base.to_vec();
    let mut i = 0;
    while i < extra.len() {
        let valued = extra.get(i + 1).is_some_and(|v| !v.starts_with("--"));
        match args.iter().position(|a| *a == extra[i]) {
            Some(j) if valued => args[j + 1] = extra[i + 1],
            _ if valued => args.extend_from_slice(&extra[i..i + 2]),
            _ => args.push(extra[i]),
        }
        i += if valued { 2 } else { 1 };
    }
    args
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run that failed with `code`, one line on stderr holding every `needle`.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

fn tiny_data(dir: &Path) -> PathBuf {
    generate_builtin(&dir.join("data"), 32, 2, 1, 1, 1).unwrap()
}

fn train(root: &Path, ck: &Path, extra: &[&str]) -> Output {
    let (r, c) = (root.display().to_string(), ck.display().to_string());
    let base = [
        "--device",
        "cpu",
        "train-pix2pix",
        "--dataroot",
        &r,
        "--checkpoints-dir",
        &c,
        "--name",
        "x",
        "--netg",
        "unet_32",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--load-size",
        "36",
        "--crop-size",
        "32",
        "--n-epochs",
        "1",
        "--n-epochs-decay",
        "0",
    ];
    engine(&merged(&base, extra))
}

#[test]
fn pix2pix_options_are_refused_before_anything_is_written() {
    let dir = TempDir::new("bad-options");
    let root = tiny_data(dir.path());
    let ck = dir.path().join("ck");
    let cases: &[(&[&str], &[&str])] = &[
        (&["--batch-size", "0"], &["--batch-size 0"]),
        (&["--batch-size", "5"], &["--batch-size 5", "only 2 images"]),
        (&["--ngf", "0"], &["--ngf 0"]),
        (&["--ndf", "0"], &["--ndf 0"]),
        (&["--netd", "n_layers", "--n-layers-d", "0"], &["--n-layers-d 0"]),
        (&["--netd", "n_layers", "--n-layers-d", "4"], &["discriminator (4 layers)", "--n-layers-d 3"]),
        (&["--netg", "unet_256"], &["unet_256", "multiples of 256", "--crop-size 256 or --netg unet_32"]),
        (&["--crop-size", "33", "--load-size", "40"], &["--crop-size 33", "--crop-size 32"]),
        (&["--preprocess", "scale_width", "--load-size", "40"], &["--load-size 40", "--load-size 32"]),
        (&["--preprocess", "none", "--netg", "unet_64"], &["after --preprocess none", "32x32", "unet_32"]),
        (&["--lr", "NaN"], &["--lr NaN"]),
        (&["--lr", "inf"], &["--lr inf"]),
        (&["--beta1", "NaN"], &["--beta1 NaN"]),
        (&["--lambda-l1", "NaN"], &["--lambda-l1 NaN"]),
        (&["--netd", "tall"], &["--netd tall"]),
        (&["--netg", "resnet_99"], &["resnet_99"]),
        (&["--epoch-count", "5"], &["--epoch-count 5", "nothing would be trained"]),
        (&["--ngf", "60000"], &["GiB", "estimated from the shapes", "lower --batch-size"]),
    ];
    for (extra, needles) in cases {
        let out = train(&root, &ck, extra);
        assert_fails(&out, 2, needles);
        assert!(!ck.exists(), "{extra:?} wrote {}", ck.display());
    }
}

#[test]
fn built_in_dataset_with_a_generator_too_deep_is_refused_before_generating() {
    let dir = TempDir::new("bad-builtin");
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--device", "cpu", "train-pix2pix", "--netg", "unet_256"])
        .output()
        .unwrap();
    assert_fails(&out, 2, &["unet_256", "--crop-size 64 gives", "--netg unet_64"]);
    assert!(!dir.path().join("datasets").exists() && !dir.path().join("checkpoints").exists());
}

#[test]
fn a_non_finite_loss_stops_training_naming_the_iteration_and_keeps_the_last_checkpoint() {
    let dir = TempDir::new("nan-loss");
    let root = tiny_data(dir.path());
    let ck = dir.path().join("ck");
    // One good epoch, then a resume whose learning rate blows the weights up. Three epochs:
    // with no decay epochs the reference's schedule gives the last epoch lr 0.
    let out = train(&root, &ck, &["--n-epochs", "3", "--max-iters", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let state = ck.join("x").join("latest_state.safetensors");
    let before = std::fs::read(&state).unwrap();
    let out =
        train(&root, &ck, &["--n-epochs", "3", "--continue-train", "--lr", "1e30", "--print-freq", "1"]);
    assert_fails(&out, 1, &["non-finite", "at iteration 3", "epoch 1", "is kept"]);
    assert_eq!(std::fs::read(&state).unwrap(), before, "the good checkpoint changed");
}

/// VGG-19 up to relu1_1 with random weights, as a safetensors file.
fn write_vgg(path: &Path) {
    let vgg = Vgg19::new(VggPooling::Max, "relu1_1", &Device::cpu()).unwrap();
    engine::nn::init::init_parameters(&vgg, 1);
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = vgg
        .named_parameters()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec(), bytemuck::cast_slice(&t.to_vec_f32()).to_vec()))
        .collect();
    let views: Vec<_> = data
        .iter()
        .map(|(n, s, b)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn style_files(dir: &Path) -> (String, String, String) {
    let img = image::RgbImage::from_fn(24, 20, |x, y| image::Rgb([(x * 10) as u8, (y * 12) as u8, 90]));
    img.save(dir.join("c.png")).unwrap();
    img.save(dir.join("s.png")).unwrap();
    write_vgg(&dir.join("vgg.safetensors"));
    let d = |n: &str| dir.join(n).display().to_string();
    (d("c.png"), d("s.png"), d("vgg.safetensors"))
}

fn stylize(dir: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let (c, s, v) = style_files(dir);
    let out = dir.join("out.png").display().to_string();
    let base = [
        "--device",
        "cpu",
        "stylize",
        "--content",
        &c,
        "--style",
        &s,
        "--vgg",
        &v,
        "--output",
        &out,
        "--content-layers",
        "relu1_1",
        "--style-layers",
        "relu1_1",
        "--image-size",
        "24",
        "--iterations",
        "3",
        "--no-progress",
        "--save-every",
        "0",
    ];
    (engine(&merged(&base, extra)), PathBuf::from(out))
}

#[test]
fn style_memory_is_estimated_and_refused_with_a_size_that_fits() {
    let dir = TempDir::new("style-mem");
    for extra in [&["--image-size", "100000"][..], &["--style-scale", "5000"][..]] {
        let (out, img) = stylize(dir.path(), extra);
        assert_fails(&out, 2, &["estimated from the shapes", "use --image-size"]);
        assert!(!img.exists());
    }
    let (out, _) = stylize(dir.path(), &["--image-size", "100000"]);
    let line = stderr(&out);
    let fits: usize =
        line.split("use --image-size ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let have = engine::nn::fit::host_memory_available().unwrap();
    let o = engine::style::StyleOptions::new("c", vec!["s".into()], "o");
    let (h, w) = engine::style::run::fit_long_side(20, 24, fits);
    let need = engine::style::budget::estimate_bytes(&o, 1, h, w, &[(h, w)]);
    assert!(need <= have && fits >= 16, "suggested {fits} needs {need} of {have}");
}

#[test]
fn an_infinite_style_loss_fails_without_writing_the_image() {
    let dir = TempDir::new("style-inf");
    for opt in ["lbfgs", "adam"] {
        let (out, img) = stylize(dir.path(), &["--beta", "1e300", "--optimizer", opt]);
        assert_fails(&out, 1, &["non-finite"]);
        assert!(!img.exists(), "{opt}");
    }
}

#[test]
fn a_closed_stdout_does_not_stop_style_transfer() {
    let dir = TempDir::new("style-pipe");
    let (c, s, v) = style_files(dir.path());
    let img = dir.path().join("out.png");
    let mut child = Command::new(BIN)
        .args(["--device", "cpu", "stylize", "--content", &c, "--style", &s, "--vgg", &v])
        .args(["--content-layers", "relu1_1", "--style-layers", "relu1_1", "--image-size", "24"])
        .args(["--iterations", "5", "--print-every", "1", "--no-progress", "--output"])
        .arg(&img)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| head -0`
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(img.exists());
}
