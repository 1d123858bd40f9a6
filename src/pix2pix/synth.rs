//! The built-in dataset: line drawings of random shapes (A) -> the same shapes filled and
//! shaded (B), written in the aligned A|B layout. The colour of a shape follows from its
//! type (circles red, rectangles blue, triangles yellow), so B is a function of A that a
//! U-Net can learn, and a person can see at a glance whether a translation is right.
//! Deterministic for a seed: every image has its own random stream.

use super::rng::Rng;
use crate::io::atomic::write_bytes_atomic;
use crate::io::image::save_image;
use anyhow::{bail, Context, Result};
use image::{DynamicImage, RgbImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "manifest.json";
const KIND: &str = "engine-builtin-shapes";
const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    kind: String,
    version: u32,
    size: u32,
    n_train: usize,
    n_val: usize,
    n_test: usize,
    seed: u64,
    /// False while the images are being written: an interrupted run is redone.
    complete: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Circle,
    Rect,
    Triangle,
}

#[derive(Clone, Debug)]
struct Shape {
    kind: Kind,
    center: (f32, f32),
    /// Circle radius, or the rough radius of a polygon (for shading).
    radius: f32,
    /// Polygon corners (empty for circles).
    corners: Vec<(f32, f32)>,
    /// No point of the shape is farther than this from the center (a quick reject).
    reach: f32,
}

fn dot(a: (f32, f32), b: (f32, f32)) -> f32 {
    a.0 * b.0 + a.1 * b.1
}

fn sub(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 - b.0, a.1 - b.1)
}

impl Shape {
    /// Whether p is within `margin` of the shape (signed distance < margin).
    fn covers(&self, p: (f32, f32), margin: f32) -> Option<f32> {
        let d = sub(p, self.center);
        let r = self.reach + margin;
        if dot(d, d) > r * r {
            return None;
        }
        Some(self.sdf(p)).filter(|&sd| sd < margin)
    }

    /// Signed distance from p to the outline: negative inside.
    fn sdf(&self, p: (f32, f32)) -> f32 {
        if self.kind == Kind::Circle {
            let d = sub(p, self.center);
            return dot(d, d).sqrt() - self.radius;
        }
        // Polygon (after Inigo Quilez's sdPolygon): distance to the nearest edge, sign by
        // the crossing-number test.
        let v = &self.corners;
        let mut d = dot(sub(p, v[0]), sub(p, v[0]));
        let mut inside = false;
        let mut j = v.len() - 1;
        for i in 0..v.len() {
            let e = sub(v[j], v[i]);
            let w = sub(p, v[i]);
            let t = (dot(w, e) / dot(e, e)).clamp(0.0, 1.0);
            let b = (w.0 - e.0 * t, w.1 - e.1 * t);
            d = d.min(dot(b, b));
            let c = [p.1 >= v[i].1, p.1 < v[j].1, e.0 * w.1 > e.1 * w.0];
            if c.iter().all(|&x| x) || c.iter().all(|&x| !x) {
                inside = !inside;
            }
            j = i;
        }
        if inside {
            -d.sqrt()
        } else {
            d.sqrt()
        }
    }

    fn base_colour(&self) -> [f32; 3] {
        match self.kind {
            Kind::Circle => [0.86, 0.20, 0.18],
            Kind::Rect => [0.18, 0.40, 0.86],
            Kind::Triangle => [0.97, 0.74, 0.10],
        }
    }

    /// Colour of the filled, lit shape at p (light from the upper left).
    fn shade(&self, p: (f32, f32)) -> [f32; 3] {
        let base = self.base_colour();
        let q = (sub(p, self.center).0 / self.radius, sub(p, self.center).1 / self.radius);
        let (intensity, specular) = if self.kind == Kind::Circle {
            // A sphere: Lambert plus a small highlight.
            let nz = (1.0 - dot(q, q)).max(0.0).sqrt();
            let l = (-0.45f32, -0.55f32, 0.70f32);
            let norm = (l.0 * l.0 + l.1 * l.1 + l.2 * l.2).sqrt();
            let diffuse = ((q.0 * l.0 + q.1 * l.1 + nz * l.2) / norm).max(0.0);
            (0.30 + 0.80 * diffuse, 0.45 * diffuse.powi(24))
        } else {
            // A flat face: a linear gradient towards the light.
            let g = (-(q.0 + q.1) * std::f32::consts::FRAC_1_SQRT_2).clamp(-1.0, 1.0);
            (0.85 + 0.25 * g, 0.0)
        };
        base.map(|c| (c * intensity + specular).clamp(0.0, 1.0))
    }
}

fn random_shape(size: f32, rng: &mut Rng) -> Shape {
    let kind = [Kind::Circle, Kind::Rect, Kind::Triangle][rng.below(3) as usize];
    let radius = size * rng.uniform(0.12, 0.22) as f32;
    let margin = radius * 0.9;
    let center = (
        rng.uniform(margin as f64, (size - margin) as f64) as f32,
        rng.uniform(margin as f64, (size - margin) as f64) as f32,
    );
    let angle = rng.uniform(0.0, std::f64::consts::TAU) as f32;
    let corners = match kind {
        Kind::Circle => Vec::new(),
        Kind::Rect => {
            let (hw, hh) = (radius * 0.85, radius * rng.uniform(0.45, 0.85) as f32);
            let (s, c) = angle.sin_cos();
            [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
                .iter()
                .map(|&(x, y)| (center.0 + x * c - y * s, center.1 + x * s + y * c))
                .collect()
        }
        Kind::Triangle => (0..3)
            .map(|k| {
                let a = angle + k as f32 * std::f32::consts::TAU / 3.0 + rng.uniform(-0.25, 0.25) as f32;
                let r = radius * rng.uniform(0.95, 1.15) as f32;
                (center.0 + r * a.cos(), center.1 + r * a.sin())
            })
            .collect(),
    };
    let radius = if kind == Kind::Circle { radius * 0.85 } else { radius };
    let reach = corners.iter().map(|&c| dot(sub(c, center), sub(c, center)).sqrt()).fold(radius, f32::max);
    Shape { kind, center, radius, corners, reach }
}

fn random_scene(size: u32, rng: &mut Rng) -> Vec<Shape> {
    let size = size as f32;
    let count = 2 + rng.below(3) as usize;
    let mut shapes: Vec<Shape> = Vec::new();
    // Draw candidates until `count` fit without covering each other too much.
    for _ in 0..count * 20 {
        if shapes.len() == count {
            break;
        }
        let s = random_shape(size, rng);
        let clear = shapes.iter().all(|o| {
            let d = sub(s.center, o.center);
            dot(d, d).sqrt() > 0.75 * (s.radius + o.radius)
        });
        if clear {
            shapes.push(s);
        }
    }
    shapes
}

/// Render one pair (A = outlines, B = shaded rendering) of a random scene, 3x3 supersampled.
pub fn render_pair(size: u32, rng: &mut Rng) -> (RgbImage, RgbImage) {
    let shapes = random_scene(size, rng);
    let s = size as f32;
    let line = (s / 64.0 * 1.6).max(1.2); // outline width in pixels
    let half = line / 2.0;
    let shadow = s * 0.03;
    const SS: usize = 3;

    let topmost = |p: (f32, f32)| shapes.iter().rev().find_map(|sh| sh.covers(p, half).map(|d| (sh, d)));
    let background = |p: (f32, f32)| {
        let t = p.1 / s;
        let top = [0.95, 0.94, 0.91];
        let bottom = [0.85, 0.87, 0.91];
        let in_shadow = shapes.iter().any(|sh| sh.covers((p.0 - shadow, p.1 - shadow), half).is_some());
        let k = if in_shadow { 0.78 } else { 1.0 };
        [0, 1, 2].map(|c| (top[c] * (1.0 - t) + bottom[c] * t) * k)
    };

    let n = size as usize;
    let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .into_par_iter()
        .map(|y| {
            let mut row_a = Vec::with_capacity(3 * n);
            let mut row_b = Vec::with_capacity(3 * n);
            for x in 0..n {
                let mut a = 0.0f32;
                let mut b = [0.0f32; 3];
                for sy in 0..SS {
                    for sx in 0..SS {
                        let p = (
                            x as f32 + (sx as f32 + 0.5) / SS as f32,
                            y as f32 + (sy as f32 + 0.5) / SS as f32,
                        );
                        let (ink, colour) = match topmost(p) {
                            Some((sh, d)) => (if d > -half { 0.0 } else { 1.0 }, sh.shade(p)),
                            None => (1.0, background(p)),
                        };
                        a += ink;
                        for c in 0..3 {
                            b[c] += colour[c];
                        }
                    }
                }
                let to_u8 = |v: f32| (v / (SS * SS) as f32 * 255.0).round().clamp(0.0, 255.0) as u8;
                row_a.extend([to_u8(a); 3]);
                row_b.extend(b.map(to_u8));
            }
            (row_a, row_b)
        })
        .collect();
    let (a, b): (Vec<Vec<u8>>, Vec<Vec<u8>>) = rows.into_iter().unzip();
    let a = RgbImage::from_raw(size, size, a.concat()).expect("size matches");
    let b = RgbImage::from_raw(size, size, b.concat()).expect("size matches");
    (a, b)
}

/// Write (or reuse) the built-in dataset in `dir`: `dir/{train,val,test}/NNNNN.png`, each
/// A|B side by side at `size` x `size` per half, plus `manifest.json` with the parameters.
/// A folder holding the same manifest is reused as is; one with another manifest of this
/// generator is regenerated; any other non-empty folder is refused. Returns `dir`.
pub fn generate_builtin(
    dir: &Path,
    size: u32,
    n_train: usize,
    n_val: usize,
    n_test: usize,
    seed: u64,
) -> Result<PathBuf> {
    if size < 8 {
        bail!("built-in dataset: image size {size} is too small (at least 8)");
    }
    let manifest =
        Manifest { kind: KIND.into(), version: VERSION, size, n_train, n_val, n_test, seed, complete: true };
    let splits = [("train", n_train), ("val", n_val), ("test", n_test)];
    let manifest_path = dir.join(MANIFEST);
    let file_name = |i: usize| format!("{i:05}.png");

    if manifest_path.is_file() {
        let text = fs::read_to_string(&manifest_path)
            .with_context(|| format!("{}: cannot read", manifest_path.display()))?;
        let old: Manifest =
            serde_json::from_str(&text).ok().filter(|m: &Manifest| m.kind == KIND).with_context(|| {
                format!(
                    "{}: not a manifest of the built-in dataset; refusing to overwrite the folder",
                    manifest_path.display()
                )
            })?;
        let files_present =
            splits.iter().all(|(s, n)| (0..*n).all(|i| dir.join(s).join(file_name(i)).is_file()));
        if old == manifest && files_present {
            return Ok(dir.to_path_buf());
        }
        // Ours, with other parameters or unfinished: start over.
        fs::remove_file(&manifest_path)
            .with_context(|| format!("{}: cannot remove", manifest_path.display()))?;
        for (s, _) in splits {
            let d = dir.join(s);
            if d.exists() {
                fs::remove_dir_all(&d).with_context(|| format!("{}: cannot remove", d.display()))?;
            }
        }
    } else if dir.is_dir() && fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{}: folder exists and is not a built-in dataset (no {MANIFEST}); refusing to overwrite it",
            dir.display()
        );
    }

    // The manifest first (marked incomplete), so the folder is known to be ours from now on.
    let write_manifest = |m: &Manifest| -> Result<()> {
        let json = serde_json::to_string_pretty(m).expect("manifest serializes");
        write_bytes_atomic(&manifest_path, json.as_bytes())
    };
    write_manifest(&Manifest { complete: false, ..manifest.clone() })?;
    for (split_index, (split, count)) in splits.iter().enumerate() {
        let split_dir = dir.join(split);
        fs::create_dir_all(&split_dir)
            .with_context(|| format!("{}: cannot create folder", split_dir.display()))?;
        (0..*count).into_par_iter().try_for_each(|i| -> Result<()> {
            let mut rng = Rng::derive(seed, ((split_index as u64) << 32) | i as u64);
            let (a, b) = render_pair(size, &mut rng);
            let mut ab = RgbImage::new(2 * size, size);
            image::imageops::replace(&mut ab, &a, 0, 0);
            image::imageops::replace(&mut ab, &b, size as i64, 0);
            save_image(&split_dir.join(file_name(i)), &DynamicImage::ImageRgb8(ab))
        })?;
    }
    write_manifest(&manifest)?;
    Ok(dir.to_path_buf())
}
