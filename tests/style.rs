//! Neural style transfer: gradient checks of the losses (f64, tiny VGG-shaped net),
//! end-to-end runs on VGG-19 with random weights written by the test (real names and
//! shapes, only the shallow layers so it stays fast), fetch-vgg against a local server,
//! and the one-line errors for bad input.

use clap::Parser;
use engine::cli::stylize;
use engine::nn::{Module, Vgg19, VggPooling};
use engine::style::losses::{content_loss, style_loss, FeatureNet, Objective, Weights};
use engine::style::options::StyleOptions;
use engine::style::{colors, stylize as run_style};
use engine::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

mod common;
use common::TempDir;

// ---- helpers ---------------------------------------------------------------------------

/// A scratch folder, removed when the test ends (pass or fail).
fn tmp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("style-{name}"))
}

/// A smooth colour gradient with a darker disc: something with content.
fn write_content(path: &Path, w: u32, h: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let d = ((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt();
        let k = if d < 0.25 { 0.6 } else { 1.0 };
        let c = |v: f32| ((0.2 + 0.6 * v) * k * 255.0) as u8;
        image::Rgb([c(fx), c(0.5 + 0.3 * (fy - 0.5)), c(1.0 - fx)])
    });
    img.save(path).unwrap();
}

/// Diagonal stripes: a texture with a strong style.
fn write_style(path: &Path, w: u32, h: u32, period: u32, a: [u8; 3], b: [u8; 3]) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(if ((x + y) / period).is_multiple_of(2) { a } else { b })
    });
    img.save(path).unwrap();
}

/// VGG-19 up to `up_to` with He-normal random weights (real names and shapes), plus a
/// tensor the style code must ignore, as a safetensors file.
fn write_vgg(path: &Path, up_to: &str, seed: u64) {
    let vgg = Vgg19::new(VggPooling::Max, up_to, &Device::cpu()).unwrap();
    engine::nn::init::init_parameters(&vgg, seed);
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in vgg.named_parameters() {
        let mut v = t.to_vec_f32();
        if name.ends_with("bias") {
            // Small non-zero biases, as trained weights have.
            v.iter_mut().enumerate().for_each(|(i, b)| *b = 0.01 * ((i % 7) as f32 - 3.0));
        }
        tensors.push((name, t.shape().to_vec(), bytemuck::cast_slice(&v).to_vec()));
    }
    tensors.push(("head.fc.weight".into(), vec![2, 3], vec![0u8; 24]));
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// Options for a fast run: 32 px, shallow layers, few iterations.
fn fast_options(dir: &Path, vgg: &Path, out: &str) -> StyleOptions {
    let content = dir.join("content.png");
    let style = dir.join("style.png");
    if !content.exists() {
        write_content(&content, 32, 24);
        write_style(&style, 28, 28, 3, [200, 40, 30], [20, 40, 180]);
    }
    let mut o = StyleOptions::new(content, vec![style], dir.join(out));
    o.vgg = Some(vgg.to_path_buf());
    o.image_size = 32;
    o.iterations = 15;
    o.content_layers = vec!["relu2_1".into()];
    o.style_layers = vec!["relu1_1".into(), "relu2_1".into()];
    o.print_every = 0;
    o.save_every = 0;
    o.progress = false;
    o
}

fn shallow_vgg(dir: &Path) -> PathBuf {
    let p = dir.join("vgg_shallow.safetensors");
    write_vgg(&p, "relu2_1", 7);
    p
}

/// The error as main prints it: the whole context chain on one line.
fn one_line(e: anyhow::Error) -> String {
    let s = format!("{e:#}");
    assert!(!s.contains('\n'), "error is not one line: {s}");
    s
}

#[derive(Parser)]
struct StylizeCli {
    #[command(flatten)]
    args: stylize::StylizeArgs,
}

#[derive(Parser)]
struct FetchCli {
    #[command(flatten)]
    args: stylize::FetchVggArgs,
}

fn parse(args: &[&str]) -> stylize::StylizeArgs {
    StylizeCli::try_parse_from(std::iter::once("stylize").chain(args.iter().copied())).unwrap().args
}

// ---- a tiny VGG-shaped network in f64 for gradient checks ------------------------------

/// conv3x3(3->4) relu, conv3x3(4->4) relu, pool, conv3x3(4->5) relu, with VGG's names.
struct TinyNet {
    convs: Vec<(Tensor, Tensor)>,
}

impl TinyNet {
    fn new(seed: u64) -> TinyNet {
        let dev = Device::cpu();
        let shapes = [(4, 3), (4, 4), (5, 4)];
        let convs = shapes
            .iter()
            .enumerate()
            .map(|(i, &(o, c))| {
                let w = Tensor::randn(
                    &[o, c, 3, 3],
                    seed + i as u64,
                    0.0,
                    (2.0 / (9 * c) as f64).sqrt(),
                    DType::F64,
                    &dev,
                );
                let b = Tensor::randn(&[o], seed + 10 + i as u64, 0.05, 0.05, DType::F64, &dev);
                (w, b)
            })
            .collect();
        TinyNet { convs }
    }
}

impl FeatureNet for TinyNet {
    fn features(&self, image: &Tensor, layers: &[String]) -> Vec<Tensor> {
        let mut taps: HashMap<&str, Tensor> = HashMap::new();
        let conv = |x: &Tensor, i: usize| x.conv2d(&self.convs[i].0, Some(&self.convs[i].1), 1, 1).relu();
        let h = conv(&Vgg19::normalize(image), 0);
        taps.insert("relu1_1", h.clone());
        let h = conv(&h, 1);
        taps.insert("relu1_2", h.clone());
        let h = h.max_pool2();
        taps.insert("pool1", h.clone());
        let h = conv(&h, 2);
        taps.insert("relu2_1", h);
        layers.iter().map(|l| taps[l.as_str()].clone()).collect()
    }
}

fn f64_image(seed: u64, h: usize, w: usize) -> Tensor {
    Tensor::rand_uniform(&[1, 3, h, w], seed, 0.05, 0.95, DType::F64, &Device::cpu())
}

/// Central differences on a few elements against autograd, in f64.
fn grad_check(obj: &Objective, x0: &Tensor, what: &str) {
    let x = x0.copy();
    x.set_requires_grad(true);
    let terms = obj.eval(&x);
    assert!(terms.total.item() > 0.0, "{what}: loss is zero, the check would prove nothing");
    let g = terms.total.backward().get(&x).expect("gradient of the image").to_vec_f64();
    let base = x0.to_vec_f64();
    let n = base.len();
    let eps = 1e-5;
    let mut checked = 0;
    for k in 0..8 {
        let i = (k * 7919 + 13) % n;
        let eval_at = |d: f64| {
            let mut v = base.clone();
            v[i] += d;
            obj.eval(&Tensor::from_f64(&v, x0.shape(), DType::F64, &Device::cpu())).total.item()
        };
        let num = (eval_at(eps) - eval_at(-eps)) / (2.0 * eps);
        let tol = 1e-6 * (1.0 + num.abs().max(g[i].abs())) + 1e-5 * num.abs().max(g[i].abs());
        assert!((num - g[i]).abs() <= tol, "{what}: element {i}: numerical {num:e}, autograd {:e}", g[i]);
        if g[i].abs() > 0.0 {
            checked += 1;
        }
    }
    assert!(checked >= 4, "{what}: too few non-zero gradient elements checked ({checked})");
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- losses --------------------------------------------------------------------------

#[test]
fn gradient_checks_of_content_style_and_tv_losses_in_f64() {
    let net = TinyNet::new(3);
    let content = f64_image(1, 10, 12);
    let style_a = f64_image(2, 12, 12);
    let style_b = f64_image(4, 8, 10);
    let x = f64_image(5, 10, 12);
    let cl = names(&["relu1_2", "relu2_1"]);
    let sl = names(&["relu1_1", "relu2_1"]);
    let styles = [(style_a, 0.7), (style_b, 0.3)];
    let only = |alpha: f64, beta: f64, tv: f64| Weights { alpha, beta, tv, style_layers: vec![1.0, 0.5] };
    grad_check(&Objective::new(&net, &cl, &sl, only(1.0, 0.0, 0.0), &content, &styles), &x, "content loss");
    grad_check(&Objective::new(&net, &cl, &sl, only(0.0, 1e3, 0.0), &content, &styles), &x, "style loss");
    grad_check(&Objective::new(&net, &cl, &sl, only(0.0, 0.0, 1.0), &content, &styles), &x, "tv loss");
    grad_check(&Objective::new(&net, &cl, &sl, only(2.0, 1e3, 0.5), &content, &styles), &x, "total loss");
}

#[test]
fn losses_follow_the_paper() {
    // Recompute every term on the host from the feature maps and compare.
    let net = TinyNet::new(9);
    let content = f64_image(11, 8, 8);
    let s1 = f64_image(12, 8, 8);
    let s2 = f64_image(13, 10, 6);
    let x = f64_image(14, 8, 8);
    let cl = names(&["relu2_1"]);
    let sl = names(&["relu1_1", "relu2_1"]);
    let (alpha, beta, tv) = (3.0, 50.0, 0.25);
    let lw = vec![1.0, 0.5];
    let obj = Objective::new(
        &net,
        &cl,
        &sl,
        Weights { alpha, beta, tv, style_layers: lw.clone() },
        &content,
        &[(s1.clone(), 0.75), (s2.clone(), 0.25)],
    );
    let terms = obj.eval(&x).values();

    let host = |t: &Tensor| t.to_vec_f64();
    let gram = |f: &Tensor| -> Vec<f64> {
        let (_, c, h, w) = f.dims4();
        let v = host(f);
        let hw = h * w;
        let mut g = vec![0.0; c * c];
        for i in 0..c {
            for j in 0..c {
                g[i * c + j] = (0..hw).map(|p| v[i * hw + p] * v[j * hw + p]).sum::<f64>() / (c * hw) as f64;
            }
        }
        g
    };
    let mse =
        |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;

    let fc = net.features(&content, &cl);
    let fx_c = net.features(&x, &cl);
    let content_expect = alpha * mse(&host(&fx_c[0]), &host(&fc[0]));
    let (g1, g2, gx) = (net.features(&s1, &sl), net.features(&s2, &sl), net.features(&x, &sl));
    let mut style_expect = 0.0;
    for l in 0..2 {
        let target: Vec<f64> =
            gram(&g1[l]).iter().zip(gram(&g2[l])).map(|(a, b)| 0.75 * a + 0.25 * b).collect();
        style_expect += lw[l] * mse(&gram(&gx[l]), &target);
    }
    style_expect *= beta;
    let v = host(&x);
    let (h, w) = (8, 8);
    let mut tv_sum = 0.0;
    for c in 0..3 {
        for y in 0..h {
            for xx in 0..w {
                let at = |y: usize, xx: usize| v[c * h * w + y * w + xx];
                if y + 1 < h {
                    tv_sum += (at(y + 1, xx) - at(y, xx)).powi(2);
                }
                if xx + 1 < w {
                    tv_sum += (at(y, xx + 1) - at(y, xx)).powi(2);
                }
            }
        }
    }
    let tv_expect = tv * tv_sum / v.len() as f64;
    let close =
        |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{what}: {a} vs {b}");
    close(terms.content, content_expect, "content");
    close(terms.style, style_expect, "style");
    close(terms.tv, tv_expect, "tv");
    close(terms.total, content_expect + style_expect + tv_expect, "total");

    // The free functions agree with the objective.
    let c = content_loss(&fx_c, &fc).unwrap().item();
    close(alpha * c, content_expect, "content_loss()");
    let targets: Vec<Tensor> = obj.targets().grams.clone();
    let s = style_loss(&gx, &targets, &lw).unwrap().item();
    close(beta * s, style_expect, "style_loss()");
}

// ---- end to end ------------------------------------------------------------------------

#[test]
fn lbfgs_run_lowers_the_loss_and_writes_image_report_and_intermediates() {
    let dir = tmp_dir("lbfgs");
    let vgg = shallow_vgg(&dir);
    let mut o = fast_options(&dir, &vgg, "out.png");
    o.save_every = 5;
    // From the near-uniform random start the style term needs a few dozen iterations
    // to get going (its gradient grows with the image's structure).
    o.iterations = 40;
    let r = run_style(&o, &Device::cpu()).unwrap();
    let s = &r.scales[0];
    assert!(
        s.final_losses.total < 0.6 * s.initial_losses.total,
        "loss did not fall: {:?} -> {:?}",
        s.initial_losses,
        s.final_losses
    );
    assert!(
        s.final_losses.style < 0.6 * s.initial_losses.style
            && s.final_losses.content < s.initial_losses.content,
        "{s:?}"
    );
    assert_eq!(r.size, [24, 32]);
    // The line search (default) may evaluate more than once per iteration; --iterations
    // bounds the evaluations.
    assert_eq!(r.evaluations, 40);
    assert!(r.iterations <= 40 && r.iterations >= 20, "{} iterations", r.iterations);
    assert!(r.stop_reason.contains("limit reached"), "{}", r.stop_reason);
    let img = image::open(dir.join("out.png")).unwrap();
    assert_eq!((img.width(), img.height()), (32, 24));
    for it in [5, 10, 35] {
        assert!(dir.join(format!("out_{it}.png")).is_file(), "intermediate out_{it}.png missing");
    }
    assert_eq!(r.saved.len(), 7);
    assert!(!dir.join("out_40.png").exists(), "the last iteration is the output itself");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap();
    for key in ["seconds", "iterations", "evaluations", "final_losses", "stop_reason", "scales"] {
        assert!(json.get(key).is_some(), "report lacks `{key}`: {json}");
    }
    assert_eq!(json["final_losses"]["total"].as_f64().unwrap(), r.final_losses.total);
    assert!(!dir.join("out.png.tmp").exists());
}

#[test]
fn adam_run_lowers_the_loss() {
    let dir = tmp_dir("adam");
    let vgg = shallow_vgg(&dir);
    let mut o = fast_options(&dir, &vgg, "adam.png");
    o.optimizer = engine::style::OptimizerKind::Adam;
    o.iterations = 20;
    o.init = engine::style::Init::Content;
    let r = run_style(&o, &Device::cpu()).unwrap();
    let s = &r.scales[0];
    assert!(
        s.final_losses.total < 0.8 * s.initial_losses.total,
        "{:?} -> {:?}",
        s.initial_losses,
        s.final_losses
    );
    assert_eq!(r.iterations, 20);
    assert_eq!(r.stop_reason, "iteration limit reached");
}

#[test]
fn original_colors_keep_the_content_chroma() {
    let dir = tmp_dir("colors");
    let vgg = shallow_vgg(&dir);
    let chroma_error = |original: bool, name: &str| -> f32 {
        let mut o = fast_options(&dir, &vgg, name);
        o.original_colors = original;
        run_style(&o, &Device::cpu()).unwrap();
        let content = colors::rgb_to_yiq(&chw(&dir.join("content.png")));
        let out = colors::rgb_to_yiq(&chw(&dir.join(name)));
        let plane = content.len() / 3;
        (plane..3 * plane).map(|i| (content[i] - out[i]).abs()).sum::<f32>() / (2 * plane) as f32
    };
    let kept = chroma_error(true, "orig.png");
    let free = chroma_error(false, "free.png");
    assert!(kept < 0.01, "chroma changed with --original-colors: mean |dIQ| = {kept}");
    assert!(
        free > 3.0 * kept && free > 0.01,
        "the style should change the chroma without it: {free} vs {kept}"
    );
}

fn chw(path: &Path) -> Vec<f32> {
    let img = image::open(path).unwrap().to_rgb32f();
    engine::style::run::Pixels::from_image(&img).data
}

#[test]
fn several_styles_with_blend_weights_and_scales() {
    let dir = tmp_dir("multi");
    let vgg = shallow_vgg(&dir);
    let style2 = dir.join("style2.png");
    write_style(&style2, 40, 20, 5, [240, 220, 40], [30, 160, 60]);
    let mut o = fast_options(&dir, &vgg, "multi.png");
    o.styles.push(style2);
    o.style_blend_weights = Some(vec![3.0, 1.0]);
    o.style_scale = 0.75;
    o.scales = 2;
    o.iterations = 8;
    o.line_search = false;
    let r = run_style(&o, &Device::cpu()).unwrap();
    assert_eq!(r.style_blend_weights, vec![0.75, 0.25]);
    assert_eq!(r.scales.len(), 2);
    assert_eq!(r.scales[0].size, [12, 16]);
    assert_eq!(r.scales[1].size, [24, 32]);
    for s in &r.scales {
        assert!(s.final_losses.total < s.initial_losses.total, "{s:?}");
    }
    // Without line search every iteration is one evaluation, and all of them are done.
    assert_eq!((r.iterations, r.evaluations), (16, 16));
    assert!(r.scales.iter().all(|s| s.stop_reason == "iteration limit reached"), "{:?}", r.scales);
    let img = image::open(dir.join("multi.png")).unwrap();
    assert_eq!((img.width(), img.height()), (32, 24));
}

#[test]
fn cli_flags_parse_with_reference_aliases_and_run() {
    let dir = tmp_dir("cli");
    shallow_vgg(&dir);
    write_content(&dir.join("c.png"), 30, 20);
    write_style(&dir.join("s.png"), 20, 20, 2, [10, 200, 10], [200, 10, 200]);
    let d = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let args = parse(&[
        "--content-image",
        &d("c.png"),
        "--style",
        &d("s.png"),
        "--output",
        &d("cli.png"),
        "--vgg",
        &d("vgg_shallow.safetensors"),
        "--image-size",
        "30",
        "--num-iterations",
        "6",
        "--content-layers",
        "relu2_1",
        "--style-layers",
        "relu1_1,relu2_1",
        "--style-layer-weights",
        "1,2",
        "--pooling",
        "avg",
        "--init",
        "content",
        "--print-every",
        "2",
        "--save-every",
        "0",
        "--seed",
        "3",
        "--no-progress",
        "--line-search",
        "none",
    ]);
    let o = args.to_options().unwrap();
    assert_eq!(o.style_layer_weights, Some(vec![1.0, 2.0]));
    assert_eq!(o.pooling, VggPooling::Avg);
    assert_eq!(o.init, engine::style::Init::Content);
    assert!(!o.line_search);
    stylize::run(args, &Device::cpu()).unwrap();
    assert!(dir.join("cli.png").is_file() && dir.join("cli.json").is_file());

    // Defaults are the documented ones.
    let a = parse(&["--content", "c.png", "--style", "s.png"]);
    assert_eq!((a.alpha, a.beta, a.tv_weight), (1.0, 1e5, 1e2));
    assert_eq!((a.image_size, a.iterations, a.print_every, a.save_every), (512, 1000, 50, 100));
    assert_eq!(a.content_layers, "relu4_2");
    assert_eq!(a.style_layers, "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1");
    assert_eq!(a.optimizer, stylize::OptimizerArg::Lbfgs);
    assert!((a.learning_rate - 10.0 / 256.0).abs() < 1e-12);
    assert_eq!(a.init, "random");
    assert_eq!(a.line_search, stylize::LineSearchArg::StrongWolfe);
}

#[test]
fn default_layers_run_on_full_depth_vgg19() {
    // relu5_1 needs 16 px: a 32 px run through conv5_1 with the real channel counts.
    let dir = tmp_dir("deep");
    let vgg = dir.join("vgg_deep.safetensors");
    write_vgg(&vgg, "relu5_1", 5);
    let mut o = fast_options(&dir, &vgg, "deep.png");
    o.content_layers = names(&["relu4_2"]);
    o.style_layers = names(&["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]);
    o.iterations = 3;
    let r = run_style(&o, &Device::cpu()).unwrap();
    assert!(r.final_losses.total < r.scales[0].initial_losses.total, "{r:?}");
    assert!(dir.join("deep.png").is_file());
}

// ---- fetch-vgg -------------------------------------------------------------------------

/// Serves `body` for every GET on 127.0.0.1 (at most `max` requests); returns the URL.
fn serve(body: Vec<u8>, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}/model.safetensors")
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn fetch(args: &[&str]) -> anyhow::Result<()> {
    let a = FetchCli::try_parse_from(std::iter::once("fetch-vgg").chain(args.iter().copied())).unwrap().args;
    stylize::run_fetch_vgg(a)
}

#[test]
fn fetch_vgg_downloads_checks_the_hash_and_refuses_a_wrong_one() {
    let dir = tmp_dir("fetch");
    let src = dir.join("served.safetensors");
    write_vgg(&src, "relu1_2", 1);
    let body = std::fs::read(&src).unwrap();
    let url = serve(body.clone(), 8);
    let dest = dir.join("cache").join("vgg19.safetensors");
    let d = dest.to_string_lossy().into_owned();

    fetch(&["--url", &url, "--dest", &d, "--sha256", &sha256_hex(&body)]).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);

    let dest2 = dir.join("other.safetensors");
    let wrong = "0".repeat(64);
    let e = one_line(
        fetch(&["--url", &url, "--dest", &dest2.to_string_lossy(), "--sha256", &wrong]).unwrap_err(),
    );
    assert!(e.to_lowercase().contains("sha"), "{e}");
    assert!(!dest2.exists() && !dir.join("other.safetensors.tmp").exists(), "nothing may be left behind");

    // Without a hash the contents are checked: a file without every VGG-19 layer is refused.
    let e = one_line(fetch(&["--url", &url, "--dest", &dest2.to_string_lossy()]).unwrap_err());
    assert!(e.contains("features.5.weight"), "{e}");
    assert!(!dest2.exists());

    let e =
        one_line(fetch(&["--url", &url, "--dest", &dest2.to_string_lossy(), "--sha256", "abc"]).unwrap_err());
    assert!(e.contains("--sha256"), "{e}");
}

// ---- bad input -------------------------------------------------------------------------

fn expect_error(o: &StyleOptions, needles: &[&str]) {
    let e = one_line(run_style(o, &Device::cpu()).unwrap_err());
    for n in needles {
        assert!(e.contains(n), "error `{e}` lacks `{n}`");
    }
}

#[test]
fn bad_input_gives_one_clear_line() {
    let dir = tmp_dir("bad");
    let vgg = shallow_vgg(&dir);
    let base = fast_options(&dir, &vgg, "bad.png");

    let mut o = base.clone();
    o.content = dir.join("missing.png");
    expect_error(&o, &["content image", "missing.png", "no such file"]);

    let mut o = base.clone();
    o.styles = vec![dir.join("style.png"), dir.join("nostyle.jpg")];
    expect_error(&o, &["style image", "nostyle.jpg"]);

    let not_image = dir.join("notes.png");
    std::fs::write(&not_image, b"hello").unwrap();
    let mut o = base.clone();
    o.styles = vec![not_image];
    expect_error(&o, &["notes.png"]);

    let mut o = base.clone();
    o.style_blend_weights = Some(vec![1.0, 2.0]);
    expect_error(&o, &["--style-blend-weights", "2 values", "1 style images"]);

    let mut o = base.clone();
    o.style_blend_weights = Some(vec![-1.0]);
    expect_error(&o, &["--style-blend-weights", "non-negative"]);

    let mut o = base.clone();
    o.beta = -1.0;
    expect_error(&o, &["--beta", "non-negative"]);

    let mut o = base.clone();
    o.style_layers = vec!["relu1_1".into(), "relu9_9".into()];
    expect_error(&o, &["relu9_9"]);

    let mut o = base.clone();
    o.style_layer_weights = Some(vec![1.0]);
    expect_error(&o, &["--style-layer-weights", "1 values", "2 style layers"]);

    let mut o = base.clone();
    o.content_layers = vec!["relu5_1".into()];
    o.image_size = 12;
    expect_error(&o, &["too small", "relu5_1", "16"]);

    let mut o = base.clone();
    o.style_layers = vec!["relu3_1".into()];
    o.style_layer_weights = None;
    o.style_scale = 0.05;
    expect_error(&o, &["style image", "too small", "relu3_1", "4 px"]);

    let mut o = base.clone();
    o.scales = 3;
    o.image_size = 16;
    o.content_layers = vec!["relu3_1".into()];
    expect_error(&o, &["too small", "scale 1 of 3"]);

    // Weights: missing, and a file with a wrong shape.
    let mut o = base.clone();
    o.vgg = Some(dir.join("nowhere.safetensors"));
    expect_error(&o, &["nowhere.safetensors", "engine fetch-vgg"]);

    // Every tensor present, one with the wrong shape (a 4-channel first layer).
    let wrong = dir.join("wrong.safetensors");
    let vgg = Vgg19::new(VggPooling::Max, "relu2_1", &Device::cpu()).unwrap();
    let params: Vec<(String, Vec<usize>, Vec<u8>)> = vgg
        .named_parameters()
        .into_iter()
        .map(|(n, t)| {
            let shape = if n == "features.0.weight" { vec![64, 4, 3, 3] } else { t.shape().to_vec() };
            let bytes = vec![0u8; 4 * shape.iter().product::<usize>()];
            (n, shape, bytes)
        })
        .collect();
    let views: Vec<_> = params
        .iter()
        .map(|(n, s, b)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, &wrong).unwrap();
    let mut o = base.clone();
    o.vgg = Some(wrong.clone());
    expect_error(&o, &["features.0.weight", "[64, 4, 3, 3]", "[64, 3, 3, 3]"]);

    let shallow = dir.join("shallow.safetensors");
    write_vgg(&shallow, "relu1_2", 2);
    let mut o = base.clone();
    o.vgg = Some(shallow);
    expect_error(&o, &["features.5.weight"]);

    let mut o = base.clone();
    o.vgg = Some(not_image_file(&dir));
    expect_error(&o, &["garbage.safetensors", "not a valid safetensors file"]);

    // CLI-only parsing errors.
    let a = parse(&["--content", "c.png", "--style", "s.png", "--style-blend-weights", "1,x"]);
    let e = one_line(a.to_options().unwrap_err());
    assert!(e.contains("--style-blend-weights") && e.contains("`x`"), "{e}");
}

fn not_image_file(dir: &Path) -> PathBuf {
    let p = dir.join("garbage.safetensors");
    std::fs::write(&p, b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk").unwrap();
    p
}

#[test]
fn missing_default_weights_say_where_they_were_looked_for() {
    let dir = tmp_dir("cache");
    // Only this test touches ENGINE_CACHE; every other test passes --vgg.
    std::env::set_var("ENGINE_CACHE", &*dir);
    let mut o = fast_options(&dir, Path::new("unused"), "x.png");
    o.vgg = None;
    let expected = dir.join("vgg19.safetensors");
    expect_error(&o, &[&expected.to_string_lossy(), "engine fetch-vgg"]);
    write_vgg(&expected, "relu2_1", 4);
    run_style(&o, &Device::cpu()).unwrap();
    std::env::remove_var("ENGINE_CACHE");
}
