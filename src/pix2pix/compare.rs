//! Result folders side by side: the paper's colour analysis (section 4.3, Figure 7 and
//! Table 5) for one folder (`test-pix2pix --report colour`) and a comparison page over
//! several (`engine compare`, `engine ablate`): a grid of the same inputs through every
//! variant and a table of L1, PSNR, SSIM and Lab histogram intersection per variant.
//! Everything is read back from `images/<stem>_{real_A,fake_B,real_B}.png`, so any
//! folder test-pix2pix wrote (ours, or the reference's with the same names) can be compared.

use super::eval::l1_psnr;
use super::html::{escape, image_cell, page};
use crate::io::atomic::write_bytes_atomic;
use crate::io::image::load_chw;
use crate::metrics::{log_probability_svg, ssim, LabHistograms};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Figures of one result folder, over the images it shares with the others compared.
#[derive(Clone, Debug)]
pub struct FolderScores {
    pub label: String,
    pub count: usize,
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
    /// Lab histogram intersection (L, a, b) of all outputs against all targets.
    pub intersection: [f64; 3],
    pub outputs: LabHistograms,
    pub targets: LabHistograms,
}

/// Stems of `dir/images/*_fake_B.png` that also have a `_real_B.png`.
fn stems(dir: &Path) -> Result<BTreeSet<String>> {
    let images = dir.join("images");
    let entries = std::fs::read_dir(&images)
        .with_context(|| format!("cannot read {} (a test-pix2pix results folder?)", images.display()))?;
    let mut out = BTreeSet::new();
    for e in entries {
        let name = e?.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix("_fake_B.png") {
            if images.join(format!("{stem}_real_B.png")).is_file() {
                out.insert(stem.to_string());
            }
        }
    }
    Ok(out)
}

/// Scores of `dir` over `stems` (RGB outputs against RGB targets).
pub fn score_folder(label: &str, dir: &Path, stems: &BTreeSet<String>) -> Result<FolderScores> {
    let images = dir.join("images");
    let (mut l1, mut psnr, mut structural) = (0.0, 0.0, 0.0);
    let (mut outputs, mut targets) = (LabHistograms::default(), LabHistograms::default());
    for stem in stems {
        let (fake, h, w) = load_chw(&images.join(format!("{stem}_fake_B.png")), 3)?;
        let (real, hr, wr) = load_chw(&images.join(format!("{stem}_real_B.png")), 3)?;
        if (h, w) != (hr, wr) {
            bail!("{}: {stem}_fake_B is {w}x{h} but {stem}_real_B is {wr}x{hr}", images.display());
        }
        let (a, b) = l1_psnr(&fake, &real);
        l1 += a;
        psnr += b;
        structural += ssim(&fake, &real, 3, h, w);
        outputs.add(&fake);
        targets.add(&real);
    }
    let n = stems.len().max(1) as f64;
    Ok(FolderScores {
        label: label.to_string(),
        count: stems.len(),
        l1: l1 / n,
        psnr: psnr / n,
        ssim: structural / n,
        intersection: outputs.intersection(&targets),
        outputs,
        targets,
    })
}

/// The colour section of a page: intersection per variant and log P(L), P(a), P(b) plots
/// of every variant's outputs next to the targets'.
pub fn colour_section(scores: &[FolderScores]) -> String {
    let mut html = String::from("<h2>Colour distribution (Lab)</h2>\n<table>\n<tr><th>variant</th><th>L</th><th>a</th><th>b</th></tr>\n");
    for s in scores {
        let [l, a, b] = s.intersection;
        writeln!(html, "<tr><td>{}</td><td>{l:.3}</td><td>{a:.3}</td><td>{b:.3}</td></tr>", escape(&s.label))
            .unwrap();
    }
    html.push_str("</table>\n<p>Histogram intersection of the outputs' colours with the targets' (1: identical distributions).</p>\n<p>");
    if let Some(first) = scores.first() {
        let mut series: Vec<(&str, &LabHistograms)> = vec![("target", &first.targets)];
        series.extend(scores.iter().map(|s| (s.label.as_str(), &s.outputs)));
        for k in 0..3 {
            html += &log_probability_svg(k, &series);
        }
    }
    html + "</p>\n"
}

/// `test-pix2pix --report colour`: the colour section for one results folder.
pub fn colour_report(dir: &Path, label: &str) -> Result<String> {
    let scores = score_folder(label, dir, &stems(dir)?)?;
    Ok(colour_section(&[scores]))
}

/// A comparison page at `out/index.html` over `(label, results folder)` pairs, on the
/// images every folder has; the grid shows up to `grid_rows` of them.
pub fn compare(
    folders: &[(String, PathBuf)],
    out: &Path,
    grid_rows: usize,
) -> Result<(PathBuf, Vec<FolderScores>)> {
    if folders.len() < 2 {
        bail!("compare needs at least two result folders, got {}", folders.len());
    }
    let mut common: Option<BTreeSet<String>> = None;
    for (_, dir) in folders {
        let s = stems(dir)?;
        common = Some(match common {
            None => s,
            Some(c) => c.intersection(&s).cloned().collect(),
        });
    }
    let common = common.unwrap_or_default();
    if common.is_empty() {
        bail!(
            "the result folders share no image (compare looks for images/<stem>_fake_B.png and _real_B.png)"
        );
    }
    let scores: Vec<FolderScores> =
        folders.iter().map(|(label, dir)| score_folder(label, dir, &common)).collect::<Result<_>>()?;

    // The grid's images are copied next to the page, so the folder stands on its own.
    let images = out.join("images");
    std::fs::create_dir_all(&images).with_context(|| format!("cannot create {}", images.display()))?;
    let copy = |from: &Path, name: &str| -> Result<()> {
        let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
        write_bytes_atomic(&images.join(name), &bytes)
    };
    let mut body = format!("<p>{} images shared by every folder.</p>\n", common.len());
    body.push_str("<table>\n<tr><th>variant</th><th>L1</th><th>PSNR (dB)</th><th>SSIM</th><th>colour L</th><th>colour a</th><th>colour b</th><th>folder</th></tr>\n");
    for (s, (_, dir)) in scores.iter().zip(folders) {
        let [l, a, b] = s.intersection;
        writeln!(
            body,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.2}</td><td>{:.4}</td><td>{l:.3}</td><td>{a:.3}</td><td>{b:.3}</td><td>{}</td></tr>",
            escape(&s.label),
            s.l1,
            s.psnr,
            s.ssim,
            escape(&dir.display().to_string())
        )
        .unwrap();
    }
    body.push_str("</table>\n");
    body += &colour_section(&scores);
    body.push_str(
        "<h2>The same inputs through every variant</h2>\n<table>\n<tr><th>image</th><th>input</th>",
    );
    for (label, _) in folders {
        write!(body, "<th>{}</th>", escape(label)).unwrap();
    }
    body.push_str("<th>target</th></tr>\n");
    for stem in common.iter().take(grid_rows) {
        write!(body, "<tr><td>{}</td>", escape(stem)).unwrap();
        let first = folders[0].1.join("images");
        let input = format!("{stem}_real_A.png");
        if first.join(&input).is_file() {
            copy(&first.join(&input), &input)?;
        }
        body += &image_cell(out, &format!("images/{input}"), "input");
        for (i, (label, dir)) in folders.iter().enumerate() {
            let name = format!("v{i}_{stem}_fake_B.png");
            copy(&dir.join("images").join(format!("{stem}_fake_B.png")), &name)?;
            body += &image_cell(out, &format!("images/{name}"), label);
        }
        let target = format!("{stem}_real_B.png");
        copy(&first.join(&target), &target)?;
        body += &image_cell(out, &format!("images/{target}"), "target");
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    let path = out.join("index.html");
    write_bytes_atomic(&path, page("comparison", None, &body).as_bytes())?;
    Ok((path, scores))
}
