//! The pages people look at, opened in headless Chromium: every image on the training and
//! test pages loads and the loss curves are drawn. Skipped (with a printed line) where
//! Chromium is not installed; CI installs Debian's `chromium`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_engine");

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// The page's DOM after load, as rendered by headless Chromium.
fn rendered(browser: &Path, page: &Path, profile: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn attr(dom: &str, name: &str) -> usize {
    let key = format!("data-{name}=\"");
    let start = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} in the rendered page:\n{}", &dom[..dom.len().min(2000)]))
        + key.len();
    dom[start..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn training_and_test_pages_render_with_all_images() {
    let Some(browser) = chromium() else {
        println!("skipped: Chromium not found (apt-get install chromium)");
        return;
    };
    let dir = TempDir::new("html");
    let profile = dir.join("chromium-profile");
    let root = engine::pix2pix::synth::generate_builtin(&dir.join("data"), 32, 4, 2, 2, 5).unwrap();
    let ck = dir.join("ck");
    let train = Command::new(BIN)
        .args([
            "--device",
            "cpu",
            "train-pix2pix",
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
            "2",
            "--n-epochs-decay",
            "1",
            "--print-freq",
            "1",
            "--name",
            "page",
            "--dataroot",
        ])
        .arg(&root)
        .arg("--checkpoints-dir")
        .arg(&ck)
        .output()
        .unwrap();
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    let dom = rendered(&browser, &ck.join("page").join("web").join("index.html"), &profile);
    assert_eq!(attr(&dom, "images"), 9, "three epochs of real_A / fake_B / real_B");
    assert_eq!(attr(&dom, "loaded"), 9, "every image loads");
    assert_eq!(attr(&dom, "series"), 4, "G_GAN, D_real, D_fake and G_L1 curves are drawn");

    let results = dir.join("results");
    let test = Command::new(BIN)
        .args(["--device", "cpu", "test-pix2pix", "--name", "page", "--checkpoints-dir"])
        .arg(&ck)
        .arg("--results-dir")
        .arg(&results)
        .output()
        .unwrap();
    assert!(test.status.success(), "{}", String::from_utf8_lossy(&test.stderr));
    let dom = rendered(&browser, &results.join("page").join("test_latest").join("index.html"), &profile);
    assert_eq!(attr(&dom, "images"), 6);
    assert_eq!(attr(&dom, "loaded"), 6);
}
