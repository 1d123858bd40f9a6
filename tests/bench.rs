//! The bench suite as CI runs it: `engine bench kernels --short` on the emulator and the
//! CPU (every case validated against the CPU reference in f64; no timing thresholds), and
//! tiny whole-workload benches on the CPU.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

mod common;
use common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn tmp(name: &str) -> TempDir {
    TempDir::new(&format!("bench-{name}"))
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "engine {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the short kernel table on `device` and checks every row was validated and timed.
fn kernels_short(device: &str) {
    let dir = tmp(&format!("kernels-{device}"));
    let j = dir.join("k.json");
    let stdout = run(&[
        "--device",
        device,
        "bench",
        "kernels",
        "--short",
        "--json",
        j.to_str().unwrap(),
        "--out-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("0 FAILED"), "{stdout}");
    let rep = json(&j);
    assert_eq!(rep["device"], device);
    assert!(rep["limits"]["bandwidth_gbs"].as_f64().unwrap() > 0.0);
    assert!(rep["limits"]["fp32_gflops"].as_f64().unwrap() > 0.0);
    let rows = rep["rows"].as_array().unwrap();
    assert!(rows.len() > 150, "{} rows", rows.len());
    for op in [
        "conv2d.fwd",
        "conv_t.bwd_weight",
        "norm.bwd",
        "gram.bwd",
        "adam.step",
        "concat.fwd",
        "loss.bwd.bcewithlogits",
        "dropout.mask",
    ] {
        assert!(rows.iter().any(|r| r["op"] == op), "no {op} row");
    }
    for r in rows {
        assert_eq!(r["status"], "ok", "{r}");
        assert!(r["rel_err"].as_f64().unwrap() <= 1e-4, "{r}");
        let median = r["stats"]["median_ms"].as_f64().unwrap();
        assert!(
            median > 0.0
                && r["stats"]["p10_ms"].as_f64().unwrap() <= median
                && median <= r["stats"]["p90_ms"].as_f64().unwrap(),
            "{r}"
        );
        assert!(r["pct_of_limit"].as_f64().unwrap() > 0.0, "{r}");
        // Launches are counted on the device backend only.
        assert_eq!(r["launches"].is_null(), device == "cpu", "{r}");
    }
    let md = std::fs::read_to_string(dir.join(format!("kernels-{device}-short.md"))).unwrap();
    assert!(
        md.contains("## Limits") && md.contains("| conv2d.fwd |") && md.contains("## Shape table"),
        "{md}"
    );
}

#[test]
fn kernels_short_on_the_emulator() {
    kernels_short("emu");
}

#[test]
fn kernels_short_on_the_cpu() {
    kernels_short("cpu");
}

#[test]
fn shape_table_is_printed() {
    let out = run(&["bench", "kernels", "--shapes"]);
    for needle in [
        "unet_256",
        "down2",
        "conv_t",
        "patchgan_n3",
        "vgg19@512",
        "conv5_1",
        "gram(relu3_1)",
        "adam (all G parameters)",
        "54413955",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
}

#[test]
fn tiny_pix2pix_step_and_style_iter_on_the_cpu() {
    let dir = tmp("whole");
    let j = dir.join("p.json");
    let out = run(&[
        "--device",
        "cpu",
        "bench",
        "pix2pix-step",
        "--size",
        "32",
        "--netg",
        "unet_32",
        "--iters",
        "2",
        "--warmup",
        "1",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert!(out.contains("pix2pix-step on cpu"), "{out}");
    let r = &json(&j)[0];
    assert_eq!(r["bench"], "pix2pix-step");
    assert_eq!(r["stats"]["samples"], 2);
    assert!(r["stats"]["median_ms"].as_f64().unwrap() > 0.0);
    // unet_32 + PatchGAN n3 at 32x32 is (32/256)^2 of the 256 step's PatchGAN work and a
    // five-level U-Net: well under the 86.9 GFLOP of the full step, well above zero.
    let gflop = r["gflop"].as_f64().unwrap();
    assert!(gflop > 0.5 && gflop < 5.0, "{gflop}");
    assert!(r["launches"].is_null());

    let j = dir.join("s.json");
    let out = run(&[
        "--device",
        "cpu",
        "bench",
        "style-iter",
        "--size",
        "32",
        "--iters",
        "2",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert!(out.contains("style-iter on cpu"), "{out}");
    let r = &json(&j)[0];
    assert_eq!(r["size"], 32);
    // 99 GFLOP at 256x256 scales with the pixel count.
    let gflop = r["gflop"].as_f64().unwrap();
    assert!((gflop - 99.2 / 64.0).abs() < 0.05, "{gflop}");
}

#[test]
fn bad_bench_arguments_are_one_line_errors() {
    let out = Command::new(BIN)
        .args(["--device", "cpu", "bench", "pix2pix-step", "--size", "100"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("multiple of 256"), "{err}");
    let out = Command::new(BIN)
        .args(["--device", "cpu", "bench", "kernels", "--short", "--filter", "no-such-kernel"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kernel case matches"));
}
