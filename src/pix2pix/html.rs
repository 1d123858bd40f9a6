//! The pages people look at: the training page (`web/index.html`: latest images per epoch
//! and an SVG plot of the losses) and the test page (`index.html` of a results folder).
//! Plain HTML with relative image paths, so a folder can be moved or copied; written
//! atomically so a browser refreshing during training never sees half a page.

use crate::io::atomic::write_bytes_atomic;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The images saved for one epoch: file names under `web_dir/images/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochImages {
    pub epoch: usize,
    pub real_a: String,
    pub fake_b: String,
    pub real_b: String,
}

impl EpochImages {
    /// The reference's names: `epoch005_real_A.png`, `epoch005_fake_B.png`, `epoch005_real_B.png`.
    pub fn new(epoch: usize) -> Self {
        EpochImages {
            epoch,
            real_a: Self::file_name(epoch, "real_A"),
            fake_b: Self::file_name(epoch, "fake_B"),
            real_b: Self::file_name(epoch, "real_B"),
        }
    }

    pub fn file_name(epoch: usize, label: &str) -> String {
        format!("epoch{epoch:03}_{label}.png")
    }
}

/// Losses at one printed step; `epoch` counts fractions (epoch 3, half-way = 2.5 with
/// epochs counted from 1 like the reference: (epoch - 1) + iteration / dataset size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossPoint {
    pub epoch: f64,
    pub g_gan: f64,
    pub g_l1: f64,
    pub d_real: f64,
    pub d_fake: f64,
}

/// One row of the test page: images `images/<stem>_{real_A,fake_B,real_B}.png`, with the
/// per-image metrics when known.
#[derive(Clone, Debug, PartialEq)]
pub struct TestRow {
    pub stem: String,
    pub l1: Option<f64>,
    pub psnr: Option<f64>,
    pub ssim: Option<f64>,
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a relative path for a `src` attribute (spaces, '#', '%', '?' in names).
fn url_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

/// Marks the page once loaded with how many images loaded and how many loss curves were
/// drawn (`data-images`, `data-loaded`, `data-series` on <body>), so a headless browser
/// test can check the page as a person would see it.
const CHECK: &str = "<script>window.addEventListener('load',function(){var b=document.body,i=Array.prototype.slice.call(document.images);b.dataset.images=i.length;b.dataset.loaded=i.filter(function(x){return x.complete&&x.naturalWidth>0}).length;b.dataset.series=document.querySelectorAll('polyline.series').length;});</script>\n";

const STYLE: &str = "body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
td, th { padding: 4px 8px; text-align: center; vertical-align: top; }
img { image-rendering: pixelated; border: 1px solid #ccc; }
.missing { display: inline-block; width: 256px; color: #999; }
.loss-plot { margin: 0.5em 1em 0.5em 0; }
";

pub(crate) fn page(title: &str, refresh_s: Option<u32>, body: &str) -> String {
    let refresh =
        refresh_s.map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n")).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}<title>{t}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{body}{CHECK}</body>\n</html>\n",
        t = escape(title)
    )
}

/// An image cell, or a note when the file is not there (a page never shows a broken image).
pub(crate) fn image_cell(base: &Path, rel: &str, label: &str) -> String {
    if base.join(rel).is_file() {
        format!(
            "<td><a href=\"{src}\"><img src=\"{src}\" width=\"256\" alt=\"{alt}\"></a><br>{label}</td>",
            src = url_path(rel),
            alt = escape(label),
            label = escape(label)
        )
    } else {
        format!("<td><span class=\"missing\">({} missing)</span><br>{}</td>", escape(rel), escape(label))
    }
}

/// Write `web_dir/index.html` for a training run: the loss plot, then the images of each
/// epoch, newest first. Returns the page's path.
pub fn write_train_page(
    web_dir: &Path,
    title: &str,
    entries: &[EpochImages],
    losses: &[LossPoint],
) -> Result<PathBuf> {
    let mut body = String::new();
    body.push_str("<h2>Losses</h2>\n");
    body.push_str(&loss_plots_svg(losses));
    let mut sorted: Vec<&EpochImages> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.epoch));
    for e in sorted {
        writeln!(body, "<h2>epoch {}</h2>\n<table><tr>", e.epoch).unwrap();
        for (file, label) in [(&e.real_a, "real_A"), (&e.fake_b, "fake_B"), (&e.real_b, "real_B")] {
            body.push_str(&image_cell(web_dir, &format!("images/{file}"), label));
        }
        body.push_str("</tr></table>\n");
    }
    let path = web_dir.join("index.html");
    write_bytes_atomic(&path, page(title, Some(60), &body).as_bytes())?;
    Ok(path)
}

/// Write `results_dir/index.html` for test results in `results_dir/images/`.
pub fn write_test_page(results_dir: &Path, title: &str, rows: &[TestRow]) -> Result<PathBuf> {
    write_test_page_with(results_dir, title, rows, "")
}

/// The test page with `extra` HTML (e.g. the colour report) after the summary line.
pub fn write_test_page_with(
    results_dir: &Path,
    title: &str,
    rows: &[TestRow],
    extra: &str,
) -> Result<PathBuf> {
    let mut body = String::new();
    let l1: Vec<f64> = rows.iter().filter_map(|r| r.l1).collect();
    let psnr: Vec<f64> = rows.iter().filter_map(|r| r.psnr).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    if !l1.is_empty() || !psnr.is_empty() {
        body.push_str("<p>");
        if !l1.is_empty() {
            write!(body, "mean L1 {:.4} ", mean(&l1)).unwrap();
        }
        if !psnr.is_empty() {
            write!(body, "mean PSNR {:.2} dB ", mean(&psnr)).unwrap();
        }
        writeln!(body, "over {} images</p>", rows.len()).unwrap();
    }
    body.push_str(extra);
    body.push_str("<table>\n<tr><th>image</th><th>real_A</th><th>fake_B</th><th>real_B</th><th>L1</th><th>PSNR</th><th>SSIM</th></tr>\n");
    for row in rows {
        write!(body, "<tr><td>{}</td>", escape(&row.stem)).unwrap();
        for label in ["real_A", "fake_B", "real_B"] {
            body.push_str(&image_cell(results_dir, &format!("images/{}_{label}.png", row.stem), label));
        }
        let fmt =
            |v: Option<f64>, digits: usize| v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "-".into());
        writeln!(
            body,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt(row.l1, 4),
            fmt(row.psnr, 2),
            fmt(row.ssim, 4)
        )
        .unwrap();
    }
    body.push_str("</table>\n");
    let path = results_dir.join("index.html");
    write_bytes_atomic(&path, page(title, None, &body).as_bytes())?;
    Ok(path)
}

struct Series {
    name: &'static str,
    colour: &'static str,
    points: Vec<(f64, f64)>,
}

/// Average runs of points so that a series has at most `max` of them.
fn thin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points;
    }
    let per = points.len().div_ceil(max);
    points
        .chunks(per)
        .map(|c| {
            let n = c.len() as f64;
            (c.iter().map(|p| p.0).sum::<f64>() / n, c.iter().map(|p| p.1).sum::<f64>() / n)
        })
        .collect()
}

/// A step of 1, 2 or 5 times a power of ten giving about `count` ticks over `range`.
fn nice_step(range: f64, count: f64) -> f64 {
    let raw = range / count;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().find(|m| m * mag >= raw).unwrap_or(10.0);
    step * mag
}

/// Multiples of `step` within [lo, hi] (at most 50).
fn ticks(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 50)).map(move |k| k as f64 * step)
}

fn tick_label(v: f64, step: f64) -> String {
    let digits = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.digits$}")
}

/// One chart as an `<svg>` element: axes with ticks, one polyline per series, a legend.
fn chart(title: &str, id: &str, series: &[Series]) -> String {
    let (w, h) = (640.0, 280.0);
    let (left, right, top, bottom) = (64.0, 16.0, 40.0, 44.0);
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).collect();
    if all.is_empty() {
        return format!("<p>{}: no values yet.</p>\n", escape(title));
    }
    let (mut x0, mut x1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 - y0 < 1e-9 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let pad = (y1 - y0) * 0.05;
    (y0, y1) = (y0 - pad, y1 + pad);
    let px = |x: f64| left + (x - x0) / (x1 - x0) * (w - left - right);
    let py = |y: f64| h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom);

    let mut svg = String::new();
    writeln!(
        svg,
        "<svg class=\"loss-plot\" id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">"
    )
    .unwrap();
    writeln!(svg, "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"white\"/>").unwrap();
    writeln!(
        svg,
        "<text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        escape(title)
    )
    .unwrap();
    // Grid and tick labels.
    let ystep = nice_step(y1 - y0, 5.0);
    for y in ticks(y0, y1, ystep) {
        let yy = py(y);
        writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e4e4\"/>",
            w - right
        )
        .unwrap();
        writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            yy + 4.0,
            tick_label(y, ystep)
        )
        .unwrap();
    }
    let xstep = nice_step(x1 - x0, 8.0);
    for x in ticks(x0, x1, xstep) {
        let xx = px(x);
        writeln!(
            svg,
            "<line x1=\"{xx:.1}\" y1=\"{top}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#e4e4e4\"/>",
            h - bottom
        )
        .unwrap();
        writeln!(
            svg,
            "<text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            h - bottom + 16.0,
            tick_label(x, xstep)
        )
        .unwrap();
    }
    // Axes.
    writeln!(
        svg,
        "<polyline class=\"axes\" points=\"{left},{top} {left},{b:.1} {r:.1},{b:.1}\" fill=\"none\" stroke=\"#444\"/>",
        b = h - bottom,
        r = w - right
    )
    .unwrap();
    writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">epoch</text>",
        (left + w - right) / 2.0,
        h - 8.0
    )
    .unwrap();
    // Series and legend.
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<String> = s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        writeln!(
            svg,
            "<polyline class=\"series\" data-name=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
            s.name,
            pts.join(" "),
            s.colour
        )
        .unwrap();
        let lx = w - right - 110.0 * (series.len() - i) as f64;
        writeln!(
            svg,
            "<line x1=\"{lx:.1}\" y1=\"26\" x2=\"{:.1}\" y2=\"26\" stroke=\"{}\" stroke-width=\"3\"/>",
            lx + 18.0,
            s.colour
        )
        .unwrap();
        writeln!(svg, "<text x=\"{:.1}\" y=\"30\">{}</text>", lx + 22.0, s.name).unwrap();
    }
    svg.push_str("</svg>\n");
    svg
}

/// The loss plots: the GAN terms (G_GAN, D_real, D_fake) and G_L1 (lambda * L1, two orders
/// of magnitude larger) on separate axes, so neither flattens the other.
pub fn loss_plots_svg(losses: &[LossPoint]) -> String {
    let series = |name, colour, get: fn(&LossPoint) -> f64| {
        let pts = losses
            .iter()
            .map(|p| (p.epoch, get(p)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        Series { name, colour, points: thin(pts, 800) }
    };
    let gan = [
        series("G_GAN", "#1f77b4", |p| p.g_gan),
        series("D_real", "#2ca02c", |p| p.d_real),
        series("D_fake", "#d62728", |p| p.d_fake),
    ];
    let l1 = [series("G_L1", "#ff7f0e", |p| p.g_l1)];
    if gan.iter().chain(&l1).all(|s| s.points.is_empty()) {
        return "<p>No losses recorded yet.</p>\n".to_string();
    }
    let mut out = String::from("<div>\n");
    out.push_str(&chart("GAN losses", "plot-gan", &gan));
    out.push_str(&chart("L1 loss (weighted by lambda_L1)", "plot-l1", &l1));
    out.push_str("</div>\n");
    out
}

/// A named, coloured series of (epoch, value) points.
pub type NamedSeries = (&'static str, &'static str, Vec<(f64, f64)>);

/// One chart of named series (name, colour, (epoch, value) points) for apps whose losses
/// are not pix2pix's four (CycleGAN's eight); non-finite points are left out.
pub fn series_chart(title: &str, id: &str, series: Vec<NamedSeries>) -> String {
    let series: Vec<Series> = series
        .into_iter()
        .map(|(name, colour, pts)| {
            let pts = pts.into_iter().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            Series { name, colour, points: thin(pts, 800) }
        })
        .collect();
    chart(title, id, &series)
}

/// A page of image rows under `dir`: `intro` (HTML, e.g. charts), then per section a
/// heading and a row of (file relative to `dir`, label) images. Returns the page's path.
pub fn write_sections_page(
    dir: &Path,
    title: &str,
    refresh_s: Option<u32>,
    intro: &str,
    sections: &[(String, Vec<(String, String)>)],
) -> Result<PathBuf> {
    let mut body = String::from(intro);
    for (heading, cells) in sections {
        writeln!(body, "<h2>{}</h2>\n<table><tr>", escape(heading)).unwrap();
        for (rel, label) in cells {
            body.push_str(&image_cell(dir, rel, label));
        }
        body.push_str("</tr></table>\n");
    }
    let path = dir.join("index.html");
    write_bytes_atomic(&path, page(title, refresh_s, &body).as_bytes())?;
    Ok(path)
}
