//! `engine combine`: put the images of two folders side by side (A|B), the layout the
//! aligned dataset reads (reference: `datasets/combine_A_and_B.py`). Unlike the reference
//! nothing is dropped silently: every file that could not be paired or combined is in the
//! report with the reason.

use crate::io::image::{is_image_path, load, save_image};
use anyhow::{bail, Context, Result};
use image::{imageops, ColorType, DynamicImage, RgbImage};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CombineOptions {
    pub fold_a: PathBuf,
    pub fold_b: PathBuf,
    pub fold_ab: PathBuf,
    /// Pair `x_A.ext` with `x_B.ext` and write `x.ext` (instead of equal names).
    pub use_ab: bool,
    /// At most this many pairs per split folder (first in file-name order).
    pub num_imgs: Option<usize>,
}

/// A file that was not combined, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CombineReport {
    pub fold_ab: PathBuf,
    /// Pairs written per split folder, in folder-name order.
    pub written: Vec<(String, usize)>,
    pub skipped: Vec<Skipped>,
    /// Inputs that were not 8-bit RGB: what was done -> how many files.
    pub converted: BTreeMap<String, usize>,
}

impl CombineReport {
    pub fn written_total(&self) -> usize {
        self.written.iter().map(|(_, n)| n).sum()
    }

    pub fn skipped_count(&self) -> usize {
        self.skipped.len()
    }

    /// True when nothing was skipped (the CLI exits non-zero otherwise).
    pub fn is_complete(&self) -> bool {
        self.skipped.is_empty()
    }
}

/// At most this many skipped files are listed by `Display`; the count is always exact.
const LIST_LIMIT: usize = 50;

impl fmt::Display for CombineReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let splits: Vec<String> = self.written.iter().map(|(s, n)| format!("{s} {n}")).collect();
        writeln!(
            f,
            "combined {} pairs into {} ({})",
            self.written_total(),
            self.fold_ab.display(),
            splits.join(", ")
        )?;
        for (what, n) in &self.converted {
            writeln!(f, "note: {n} input images were {what}")?;
        }
        if self.skipped.is_empty() {
            return writeln!(f, "nothing skipped");
        }
        writeln!(f, "skipped {} file(s):", self.skipped.len())?;
        for s in self.skipped.iter().take(LIST_LIMIT) {
            writeln!(f, "  {}: {}", s.path.display(), s.reason)?;
        }
        if self.skipped.len() > LIST_LIMIT {
            writeln!(f, "  ... and {} more", self.skipped.len() - LIST_LIMIT)?;
        }
        Ok(())
    }
}

fn combine_note(color: ColorType) -> Option<&'static str> {
    use ColorType::*;
    match color {
        Rgb8 => None,
        L8 | L16 => Some("grayscale, written as RGB"),
        La8 | La16 => Some("grayscale with alpha, alpha dropped and written as RGB"),
        Rgba8 => Some("RGBA, alpha channel dropped"),
        Rgb16 => Some("16-bit, written with 8 bits"),
        Rgba16 => Some("16-bit RGBA, alpha dropped and written with 8 bits"),
        _ => Some("of an unusual pixel format, converted to 8-bit RGB"),
    }
}

fn sorted_entries(dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mut dirs = Vec::new();
    let mut images = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("{}: cannot read folder", dir.display()))? {
        let entry = entry.with_context(|| format!("{}: cannot read folder", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            dirs.push(name);
        } else if is_image_path(&path) {
            images.push(name);
        }
    }
    dirs.sort();
    images.sort();
    Ok((dirs, images))
}

/// Replace the last `from` in `name` by `to`.
fn replace_last(name: &str, from: &str, to: &str) -> Option<String> {
    name.rfind(from).map(|i| format!("{}{}{}", &name[..i], to, &name[i + from.len()..]))
}

/// A pair to combine: A file, B file, output file.
struct Job {
    a: PathBuf,
    b: PathBuf,
    out: PathBuf,
}

enum Outcome {
    Written(Option<&'static str>, Option<&'static str>),
    Skipped(Skipped),
}

fn combine_one(job: &Job) -> Outcome {
    let skip = |path: &Path, reason: String| Outcome::Skipped(Skipped { path: path.to_path_buf(), reason });
    if !job.b.is_file() {
        return skip(&job.a, format!("no partner {}", job.b.display()));
    }
    let a = match load(&job.a) {
        Ok(img) => img,
        Err(e) => return skip(&job.a, format!("unreadable: {e:#}")),
    };
    let b = match load(&job.b) {
        Ok(img) => img,
        Err(e) => return skip(&job.b, format!("unreadable: {e:#}")),
    };
    if a.width() != b.width() || a.height() != b.height() {
        return skip(
            &job.a,
            format!(
                "A is {}x{} but B {} is {}x{} (A and B must have the same size: the dataset splits A|B at half width)",
                a.width(),
                a.height(),
                job.b.display(),
                b.width(),
                b.height()
            ),
        );
    }
    let notes = (combine_note(a.color()), combine_note(b.color()));
    let mut ab = RgbImage::new(a.width() * 2, a.height());
    imageops::replace(&mut ab, &a.to_rgb8(), 0, 0);
    imageops::replace(&mut ab, &b.to_rgb8(), a.width() as i64, 0);
    match save_image(&job.out, &DynamicImage::ImageRgb8(ab)) {
        Ok(()) => Outcome::Written(notes.0, notes.1),
        Err(e) => skip(&job.a, format!("cannot write the combined image: {e:#}")),
    }
}

/// Combine every split folder (train, val, test, ...) of `fold_a` with the same folder of
/// `fold_b` into `fold_ab`. Errors only for unusable folders; per-file problems go to the report.
pub fn combine(opts: &CombineOptions) -> Result<CombineReport> {
    for (dir, flag) in [(&opts.fold_a, "--fold-a"), (&opts.fold_b, "--fold-b")] {
        if !dir.is_dir() {
            bail!("{}: no such folder ({flag})", dir.display());
        }
    }
    let (splits, _) = sorted_entries(&opts.fold_a)?;
    if splits.is_empty() {
        bail!(
            "{}: no split folders inside (expected train/, val/, test/ holding the A images)",
            opts.fold_a.display()
        );
    }
    let mut report = CombineReport { fold_ab: opts.fold_ab.clone(), ..Default::default() };

    // Split folders of B without a counterpart in A.
    let (b_splits, _) = sorted_entries(&opts.fold_b)?;
    for s in b_splits.iter().filter(|s| !splits.contains(s)) {
        let dir = opts.fold_b.join(s);
        let n = sorted_entries(&dir)?.1.len();
        if n > 0 {
            let reason = format!("{n} image(s) in a split folder that {} lacks", opts.fold_a.display());
            report.skipped.push(Skipped { path: dir, reason });
        }
    }

    for split in &splits {
        let dir_a = opts.fold_a.join(split);
        let dir_b = opts.fold_b.join(split);
        let dir_ab = opts.fold_ab.join(split);
        let (_, names_a) = sorted_entries(&dir_a)?;
        let names_b = if dir_b.is_dir() { sorted_entries(&dir_b)?.1 } else { Vec::new() };
        let same_folder = dir_b.is_dir()
            && fs::canonicalize(&dir_a).ok().is_some_and(|a| fs::canonicalize(&dir_b).ok() == Some(a));

        // (A name, B name, output name) for each A file; other A files are reported.
        let mut pairs = Vec::new();
        for name in &names_a {
            if !opts.use_ab {
                pairs.push((name.clone(), name.clone(), name.clone()));
            } else if let Some(b) = replace_last(name, "_A.", "_B.") {
                pairs.push((name.clone(), b, replace_last(name, "_A.", ".").expect("has _A.")));
            } else if !(same_folder && name.contains("_B.")) {
                let reason = "name has no _A. (--use-ab pairs x_A.ext with x_B.ext)".to_string();
                report.skipped.push(Skipped { path: dir_a.join(name), reason });
            }
        }
        if let Some(n) = opts.num_imgs {
            pairs.truncate(n);
        }

        // B files whose A partner does not exist at all.
        for name in &names_b {
            let a_name = if opts.use_ab {
                match replace_last(name, "_B.", "_A.") {
                    Some(a) => a,
                    None if same_folder => continue, // an A file, seen above
                    None => {
                        let reason = "name has no _B. (--use-ab pairs x_A.ext with x_B.ext)".to_string();
                        report.skipped.push(Skipped { path: dir_b.join(name), reason });
                        continue;
                    }
                }
            } else {
                name.clone()
            };
            if !dir_a.join(&a_name).is_file() {
                let reason = format!("no partner {}", dir_a.join(&a_name).display());
                report.skipped.push(Skipped { path: dir_b.join(name), reason });
            }
        }

        let jobs: Vec<Job> = pairs
            .into_iter()
            .map(|(a, b, out)| Job { a: dir_a.join(a), b: dir_b.join(b), out: dir_ab.join(out) })
            .collect();
        if !jobs.is_empty() {
            fs::create_dir_all(&dir_ab)
                .with_context(|| format!("{}: cannot create folder", dir_ab.display()))?;
        }
        let outcomes: Vec<Outcome> = jobs.par_iter().map(combine_one).collect();
        let mut written = 0;
        for outcome in outcomes {
            match outcome {
                Outcome::Written(na, nb) => {
                    written += 1;
                    for note in [na, nb].into_iter().flatten() {
                        *report.converted.entry(note.to_string()).or_default() += 1;
                    }
                }
                Outcome::Skipped(s) => report.skipped.push(s),
            }
        }
        report.written.push((split.clone(), written));
    }
    Ok(report)
}
