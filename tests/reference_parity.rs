//! Parity with the reference projects' behaviour (issue 16): the lr schedule's timing, PIL's
//! 8-bit bicubic resize, test-time cropping, `--dir-a/--dir-b` folders, the built-in preset.

mod common;

use common::TempDir;
use engine::io::image::save_image;
use engine::io::resize::{resize_rgb8, Filter};
use engine::pix2pix::dataset::{split_dirs, AlignedDataset, DatasetOptions};
use engine::pix2pix::synth::generate_builtin;
use image::{DynamicImage, RgbImage};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn engine(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "engine {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A tiny pix2pix run on `root` (32 px crops, unet_32, PatchGAN with one layer).
fn tiny_train(root: &Path, ck: &Path, extra: &[&str]) -> std::process::Output {
    let (root, ck) = (root.display().to_string(), ck.display().to_string());
    let mut args = vec![
        "--device",
        "cpu",
        "train-pix2pix",
        "--dataroot",
        &root,
        "--checkpoints-dir",
        &ck,
        "--name",
        "t",
        "--netg",
        "unet_32",
        "--ngf",
        "2",
        "--netd",
        "n_layers",
        "--n-layers-d",
        "1",
        "--ndf",
        "2",
        "--load-size",
        "32",
        "--crop-size",
        "32",
        "--print-freq",
        "1",
    ];
    args.extend_from_slice(extra);
    engine(&args)
}

fn log_lr_by_epoch(path: &Path) -> Vec<(u64, f64)> {
    let mut out: Vec<(u64, f64)> = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let e = (v["epoch"].as_u64().unwrap(), v["lr"].as_f64().unwrap());
        if out.last().map(|l| l.0) != Some(e.0) {
            out.push(e);
        }
    }
    out
}

#[test]
fn lr_schedule_steps_at_the_start_of_each_epoch_and_resumes_exactly() {
    let dir = TempDir::new("parity-lr");
    let root = generate_builtin(&dir.path().join("data"), 32, 2, 1, 1, 0).unwrap();
    let ck = dir.path().join("ck");
    // n_epochs 1, n_epochs_decay 2: epoch e uses 1 - max(0, e + 1 - 1) / 3. The first run
    // stops inside epoch 2 (2 iterations per epoch); the second resumes after epoch 1.
    let sched = ["--n-epochs", "1", "--n-epochs-decay", "2"];
    tiny_train(&root, &ck, &[&sched[..], &["--max-iters", "3"]].concat());
    tiny_train(&root, &ck, &[&sched[..], &["--continue-train"]].concat());
    let lrs = log_lr_by_epoch(&ck.join("t").join("loss_log.jsonl"));
    let want = [(1, 2e-4 * 2.0 / 3.0), (2, 2e-4 / 3.0), (3, 0.0)];
    assert_eq!(lrs.len(), 3, "{lrs:?}");
    for ((e, lr), (we, wlr)) in lrs.iter().zip(want) {
        assert_eq!(*e, we);
        assert!((lr - wlr).abs() < 1e-12, "epoch {e}: lr {lr}, want {wlr} ({lrs:?})");
    }
}

fn fixture(name: &str) -> RgbImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pil_resize").join(name);
    image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).to_rgb8()
}

#[test]
fn bicubic_resize_equals_pil_pixel_for_pixel() {
    // Made by scripts/make_pil_resize_fixture.py with Pillow's Image.resize(BICUBIC).
    let input = fixture("input.png");
    for (w, h) in [(32, 32), (64, 50), (41, 20), (20, 37), (29, 53), (7, 5)] {
        let want = fixture(&format!("bicubic_{w}x{h}.png"));
        let got = resize_rgb8(&input, w, h, Filter::Bicubic);
        let diff: Vec<_> = got.as_raw().iter().zip(want.as_raw()).filter(|(a, b)| a != b).collect();
        assert!(diff.is_empty(), "{w}x{h}: {} of {} values differ from PIL", diff.len(), want.as_raw().len());
    }
    // Same size: unchanged.
    assert_eq!(resize_rgb8(&input, 41, 37, Filter::Bicubic), input);
}

fn save(path: &Path, img: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    save_image(path, &DynamicImage::ImageRgb8(img.clone())).unwrap();
}

#[test]
fn test_time_crop_crops_without_resizing() {
    let dir = TempDir::new("parity-crop");
    let root = generate_builtin(&dir.path().join("data"), 40, 1, 1, 1, 0).unwrap();
    let ck = dir.path().join("ck");
    tiny_train(&root, &ck, &["--n-epochs", "1", "--n-epochs-decay", "0", "--preprocess", "crop"]);
    let results = dir.path().join("results");
    let (ck_s, res_s) = (ck.display().to_string(), results.display().to_string());
    engine(&[
        "--device",
        "cpu",
        "test-pix2pix",
        "--name",
        "t",
        "--checkpoints-dir",
        &ck_s,
        "--results-dir",
        &res_s,
    ]);
    let real_a = image::open(results.join("t/test_latest/images/00000_real_A.png")).unwrap().to_rgb8();
    assert_eq!(real_a.dimensions(), (32, 32));
    // A 32x32 window of the 40x40 A half, pixel for pixel (a resize would blur it).
    let ab = image::open(root.join("test/00000.png")).unwrap().to_rgb8();
    let found = (0..=8).any(|y| {
        (0..=8)
            .any(|x| (0..32).all(|j| (0..32).all(|i| ab.get_pixel(x + i, y + j) == real_a.get_pixel(i, j))))
    });
    assert!(found, "real_A is not a crop of the test image");
}

#[test]
fn dir_a_and_dir_b_read_the_given_folder_or_the_phase_split_only() {
    let dir = TempDir::new("parity-dirs");
    let img = RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 7]));
    let (a, b) = (dir.path().join("A"), dir.path().join("B"));
    for split in ["train", "test"] {
        for i in 0..if split == "train" { 3 } else { 2 } {
            save(&a.join(split).join(format!("{i}.png")), &img);
            save(&b.join(split).join(format!("{i}.png")), &img);
        }
    }
    let opts = DatasetOptions::default();
    let crop8 = DatasetOptions {
        preprocess: engine::pix2pix::preprocess::PreprocessOptions {
            load_size: 8,
            crop_size: 8,
            ..opts.preprocess.clone()
        },
        ..opts
    };
    // combine's layout: A/train and A/test; the train split only, not test/ too.
    let (ta, tb) = split_dirs(&a, &b, "train").unwrap();
    assert_eq!((ta.clone(), tb.clone()), (a.join("train"), b.join("train")));
    assert_eq!(AlignedDataset::open_pair_dirs(&ta, &tb, &crop8).unwrap().len(), 3);
    let (sa, sb) = split_dirs(&a, &b, "test").unwrap();
    assert_eq!(AlignedDataset::open_pair_dirs(&sa, &sb, &crop8).unwrap().len(), 2);
    // A folder with images of its own: those, never its subfolders.
    save(&a.join("train/extra/9.png"), &img);
    assert_eq!(split_dirs(&ta, &tb, "train").unwrap(), (ta.clone(), tb.clone()));
    assert_eq!(AlignedDataset::open_pair_dirs(&ta, &tb, &crop8).unwrap().len(), 3);
    // No images and no split: one line saying subfolders are not read.
    let err = AlignedDataset::open_pair_dirs(&a, &b, &crop8).unwrap_err().to_string();
    assert!(err.contains("subfolders are not read"), "{err}");
}

#[test]
fn builtin_preset_load_size_follows_the_reference_ratio() {
    use engine::cli::pix2pix::preset_load_size;
    assert_eq!(preset_load_size(256), 286);
    assert_eq!(preset_load_size(128), 143);
    assert_eq!(preset_load_size(64), 72);
}
