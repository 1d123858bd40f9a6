//! `--device` / `ENGINE_DEVICE`: parsed once for every command, and the emulator trains with
//! the CPU's preset (it is for checking the kernels, not for speed).

mod common;

use common::TempDir;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_engine");

/// Without --dataroot the built-in preset applies; on the emulator it must be the CPU one
/// (64x64 dataset, 18 + 12 epochs at lr 4e-4), not the GPU one (256x256, unet_256, 100 + 100).
/// The model is shrunk by explicit flags and one iteration runs, so this stays quick.
#[test]
fn emulator_gets_the_cpu_preset() {
    let dir = TempDir::new("device-emu-preset");
    let ck = dir.path().join("ck");
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--device", "emu", "train-pix2pix", "--checkpoints-dir"])
        .arg(&ck)
        .args(["--netg", "unet_32", "--ngf", "4", "--ndf", "4", "--n-layers-d", "2"])
        .args(["--load-size", "36", "--crop-size", "32", "--max-iters", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("preset for the CPU"), "{err}");
    assert!(err.contains("--n-epochs 18 --n-epochs-decay 12 --lr 0.0004"), "{err}");
    assert!(dir.path().join("datasets").join("builtin_shapes_64").is_dir(), "{err}");
    assert!(!err.contains("unet_256") && !err.contains("a GPU"), "{err}");
}

/// A bad value fails every command with one line, whether it comes from the flag or the
/// environment, even commands that compute nothing.
#[test]
fn bad_device_is_one_line_for_every_command() {
    for args in [&["--device", "tpu", "info"][..], &["--device", "tpu", "summary", "unet_32"][..]] {
        let out = Command::new(BIN).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("unknown --device 'tpu'"), "{err}");
    }
    let out = Command::new(BIN).env("ENGINE_DEVICE", "cuda:x").arg("info").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unknown --device 'cuda:x'"), "{err}");
}

/// `engine info` says which device --device selects.
#[test]
fn info_names_the_selected_device() {
    for (spec, want) in [("emu", "--device emu: emu"), ("cpu", "--device cpu: cpu")] {
        let out = Command::new(BIN).args(["--device", spec, "info"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(want), "{text}");
    }
}
