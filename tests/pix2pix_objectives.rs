//! The paper's objectives (Isola et al. 2017, section 4.2): which networks exist, which
//! loss terms are trained, and what D sees. Tiny runs through the real command line.

mod common;

use common::TempDir;
use engine::pix2pix::synth::generate_builtin;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn train(root: &Path, ck: &Path, objective: &str) -> String {
    let args = [
        "--device",
        "cpu",
        "train-pix2pix",
        "--dataroot",
        &root.display().to_string(),
        "--checkpoints-dir",
        &ck.display().to_string(),
        "--name",
        objective,
        "--objective",
        objective,
        "--netg",
        "unet_32",
        "--ngf",
        "2",
        "--netd",
        "patch16",
        "--ndf",
        "2",
        "--load-size",
        "34",
        "--crop-size",
        "32",
        "--n-epochs",
        "1",
        "--n-epochs-decay",
        "0",
        "--print-freq",
        "1",
        "--seed",
        "4",
    ];
    let out = Command::new(BIN).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "--objective {objective} failed:\n{err}");
    err
}

/// (G_GAN, G_L1, D_real, D_fake) summed over the log.
fn logged_terms(dir: &Path) -> [f64; 4] {
    let log = std::fs::read_to_string(dir.join("loss_log.jsonl")).unwrap();
    let mut sums = [0.0; 4];
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for (s, k) in sums.iter_mut().zip(["G_GAN", "G_L1", "D_real", "D_fake"]) {
            *s += v[k].as_f64().unwrap();
        }
    }
    sums
}

/// Input channels of D's first convolution, read from its checkpoint.
fn d_input_channels(dir: &Path) -> usize {
    let bytes = std::fs::read(dir.join("latest_net_D.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensor("model.0.weight").unwrap().shape()[1]
}

#[test]
fn each_objective_trains_what_the_paper_says() {
    let tmp = TempDir::new("objectives");
    let root = generate_builtin(&tmp.path().join("data"), 32, 3, 2, 2, 5).unwrap();
    let ck = tmp.path().join("ck");

    // L1 alone: no D is built, saved or trained; only the L1 term is logged.
    let said = train(&root, &ck, "l1");
    let l1 = ck.join("l1");
    assert!(!l1.join("latest_net_D.safetensors").exists(), "no D under --objective l1");
    assert!(said.contains("none (objective l1)"), "{said}");
    let t = logged_terms(&l1);
    assert!(t[1] > 0.0 && t[0] == 0.0 && t[2] == 0.0 && t[3] == 0.0, "{t:?}");

    // cGAN alone: D on the 6-channel pair, no L1 term.
    train(&root, &ck, "cgan");
    let t = logged_terms(&ck.join("cgan"));
    assert!(t[0] > 0.0 && t[1] == 0.0 && t[2] > 0.0 && t[3] > 0.0, "{t:?}");
    assert_eq!(d_input_channels(&ck.join("cgan")), 6);

    // GAN + L1: an unconditional D that sees the 3-channel output only.
    train(&root, &ck, "gan+l1");
    let t = logged_terms(&ck.join("gan+l1"));
    assert!(t.iter().all(|&v| v > 0.0), "{t:?}");
    assert_eq!(d_input_channels(&ck.join("gan+l1")), 3);

    // The default is the paper's L1 + cGAN with the pair.
    train(&root, &ck, "l1+cgan");
    assert_eq!(d_input_channels(&ck.join("l1+cgan")), 6);
    assert!(logged_terms(&ck.join("l1+cgan")).iter().all(|&v| v > 0.0));

    // A resumed l1 run needs no D either.
    let out = Command::new(BIN)
        .args(["--device", "cpu", "test-pix2pix", "--name", "l1", "--checkpoints-dir"])
        .arg(&ck)
        .arg("--dataroot")
        .arg(&root)
        .arg("--results-dir")
        .arg(tmp.path().join("results"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let bad =
        Command::new(BIN).args(["--device", "cpu", "train-pix2pix", "--objective", "l2"]).output().unwrap();
    assert!(!bad.status.success());
}

#[test]
fn ablate_trains_tests_and_compares_every_variant() {
    let tmp = TempDir::new("ablate");
    let root = generate_builtin(&tmp.path().join("data"), 32, 3, 2, 3, 6).unwrap();
    let (ck, results) = (tmp.path().join("ck"), tmp.path().join("results"));
    let run = || {
        Command::new(BIN)
            .args([
                "--device",
                "cpu",
                "ablate",
                "--variants",
                "l1,l1+cgan",
                "--name",
                "abl",
                "--netg",
                "unet_32",
            ])
            .args(["--ngf", "2", "--netd", "patch16", "--ndf", "2", "--load-size", "34", "--crop-size", "32"])
            .args(["--n-epochs", "1", "--n-epochs-decay", "0", "--num-test", "2", "--dataroot"])
            .arg(&root)
            .arg("--checkpoints-dir")
            .arg(&ck)
            .arg("--results-dir")
            .arg(&results)
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("l1+cgan") && stdout.contains("comparison:"), "{stdout}");
    assert!(!ck.join("abl_l1").join("latest_net_D.safetensors").exists());
    assert!(ck.join("abl_l1_cgan").join("latest_net_D.safetensors").exists());
    let page = std::fs::read_to_string(results.join("abl_ablation").join("index.html")).unwrap();
    // Table row per variant, three colour plots, and a grid of 2 inputs x 2 variants.
    assert!(page.contains("<td>l1</td>") && page.contains("<td>l1+cgan</td>"), "{page}");
    assert_eq!(page.matches("<svg").count(), 3);
    let grid = std::fs::read_dir(results.join("abl_ablation").join("images")).unwrap().count();
    assert_eq!(grid, 2 * (2 + 2), "input, target and one output per variant for each of 2 images");
    // Resumable: a second run finds both variants finished and recompares.
    assert!(run().status.success());

    // compare over the two test folders and the colour report of one.
    let a = results.join("abl_l1").join("test_latest");
    let b = results.join("abl_l1_cgan").join("test_latest");
    let out = Command::new(BIN)
        .args(["compare", "--labels", "L1,both", "--output"])
        .arg(tmp.path().join("cmp"))
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("both: L1"));
    let one = Command::new(BIN).args(["compare"]).arg(&a).output().unwrap();
    assert!(!one.status.success(), "compare needs two folders");

    let out = Command::new(BIN)
        .args([
            "--device",
            "cpu",
            "test-pix2pix",
            "--name",
            "abl_l1",
            "--report",
            "colour",
            "--checkpoints-dir",
        ])
        .arg(&ck)
        .arg("--results-dir")
        .arg(tmp.path().join("colour"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(tmp.path().join("colour/abl_l1/test_latest/index.html")).unwrap();
    assert!(page.contains("Colour distribution") && page.contains("SSIM"), "{page}");
    assert_eq!(page.matches("<svg").count(), 3);
}
