//! Preprocessing of the reference (`data/base_dataset.py`: `get_params`, `get_transform`):
//! resize / scale width / crop / make a multiple of 4, then a random horizontal flip.
//! The parameters are drawn once per sample and applied to A and B alike, so the pair
//! stays aligned.

use super::rng::Rng;
use crate::io::image::rgb32f_window_to_chw;
use crate::io::resize::{resize_rgb8, Filter};
use anyhow::{bail, Result};
use clap::ValueEnum;
use image::{Rgb32FImage, RgbImage};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Preprocess {
    /// Bicubic resize to load_size x load_size, then a random crop_size crop.
    #[value(name = "resize_and_crop")]
    ResizeAndCrop,
    /// A random crop_size crop of the image as it is.
    Crop,
    /// Bicubic resize to width load_size, keeping the aspect ratio (height at least crop_size).
    #[value(name = "scale_width")]
    ScaleWidth,
    /// ScaleWidth, then a random crop_size crop.
    #[value(name = "scale_width_and_crop")]
    ScaleWidthAndCrop,
    /// Keep the image; only round each side to a multiple of 4 (bicubic) for the U-Net.
    None,
}

impl Preprocess {
    pub const NAMES: &'static [&'static str] =
        &["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"];

    pub fn name(self) -> &'static str {
        match self {
            Preprocess::ResizeAndCrop => "resize_and_crop",
            Preprocess::Crop => "crop",
            Preprocess::ScaleWidth => "scale_width",
            Preprocess::ScaleWidthAndCrop => "scale_width_and_crop",
            Preprocess::None => "none",
        }
    }

    fn crops(self) -> bool {
        matches!(self, Preprocess::ResizeAndCrop | Preprocess::Crop | Preprocess::ScaleWidthAndCrop)
    }
}

impl fmt::Display for Preprocess {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preprocess {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "resize_and_crop" => Preprocess::ResizeAndCrop,
            "crop" => Preprocess::Crop,
            "scale_width" => Preprocess::ScaleWidth,
            "scale_width_and_crop" => Preprocess::ScaleWidthAndCrop,
            "none" => Preprocess::None,
            _ => bail!("unknown preprocess '{s}' (one of: {})", Preprocess::NAMES.join(", ")),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreprocessOptions {
    pub preprocess: Preprocess,
    pub load_size: u32,
    pub crop_size: u32,
    pub no_flip: bool,
}

impl Default for PreprocessOptions {
    /// The reference's training defaults.
    fn default() -> Self {
        PreprocessOptions {
            preprocess: Preprocess::ResizeAndCrop,
            load_size: 286,
            crop_size: 256,
            no_flip: false,
        }
    }
}

/// What to do to one image (and its partner): resize to `resize_to` (width, height) if it
/// differs from the input, take `window` (x, y, width, height) of the result, mirror if `flip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub resize_to: (u32, u32),
    pub window: (u32, u32, u32, u32),
    pub flip: bool,
}

/// Python's `round` (half to even), as the reference's `__make_power_2` uses.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

impl PreprocessOptions {
    pub fn validate(&self) -> Result<()> {
        if self.load_size == 0 || self.crop_size == 0 {
            bail!("--load-size and --crop-size must be positive");
        }
        if matches!(self.preprocess, Preprocess::ResizeAndCrop | Preprocess::ScaleWidthAndCrop)
            && self.load_size < self.crop_size
        {
            bail!(
                "--load-size {} is smaller than --crop-size {} (with --preprocess {})",
                self.load_size,
                self.crop_size,
                self.preprocess
            );
        }
        Ok(())
    }

    /// Size (width, height) after resizing an input of `w` x `h`.
    pub fn resized_size(&self, w: u32, h: u32) -> (u32, u32) {
        let (load, crop) = (self.load_size, self.crop_size);
        match self.preprocess {
            Preprocess::ResizeAndCrop => (load, load),
            Preprocess::Crop => (w, h),
            Preprocess::ScaleWidth | Preprocess::ScaleWidthAndCrop => {
                if w == load && h >= crop {
                    (w, h)
                } else {
                    // int(max(load * h / w, crop)) as in the reference's __scale_width
                    let scaled = (load as f64 * h as f64 / w as f64).max(crop as f64);
                    (load, scaled as u32)
                }
            }
            Preprocess::None => {
                let base = 4.0;
                let round = |v: u32| ((round_half_even(v as f64 / base) * base) as u32).max(4);
                (round(w), round(h))
            }
        }
    }

    /// Size (width, height) of the final output for an input of `w` x `h`.
    pub fn output_size(&self, w: u32, h: u32) -> (u32, u32) {
        let (rw, rh) = self.resized_size(w, h);
        if self.preprocess.crops() {
            (self.crop_size.min(rw), self.crop_size.min(rh))
        } else {
            (rw, rh)
        }
    }

    /// Whether an input of `w` x `h` can be processed; the error ("is 100x100, smaller than
    /// --crop-size 256") reads after a subject such as "x.png: the image".
    pub fn check_input(&self, w: u32, h: u32) -> Result<()> {
        if w == 0 || h == 0 {
            bail!("is empty ({w}x{h})");
        }
        let (rw, rh) = self.resized_size(w, h);
        if self.preprocess.crops() && (rw < self.crop_size || rh < self.crop_size) {
            if self.preprocess == Preprocess::Crop {
                bail!("is {w}x{h}, smaller than --crop-size {}", self.crop_size);
            }
            bail!("is {rw}x{rh} after resizing, smaller than --crop-size {}", self.crop_size);
        }
        Ok(())
    }

    /// Draw the random crop position and flip for an input of `w` x `h`. Always draws
    /// three numbers (x, y, flip) like the reference's `get_params`, whatever the mode.
    pub fn params(&self, w: u32, h: u32, rng: &mut Rng) -> Params {
        let (rw, rh) = self.resized_size(w, h);
        let x = rng.below(rw.saturating_sub(self.crop_size) as u64 + 1) as u32;
        let y = rng.below(rh.saturating_sub(self.crop_size) as u64 + 1) as u32;
        let flip = rng.next_f64() > 0.5 && !self.no_flip;
        let window = if self.preprocess.crops() {
            (x, y, self.crop_size.min(rw), self.crop_size.min(rh))
        } else {
            (0, 0, rw, rh)
        };
        Params { resize_to: (rw, rh), window, flip }
    }
}

/// Apply `params` to a float RGB image in [0, 1]; returns CHW in [-1, 1] with `channels`
/// 1 or 3 and the output (height, width).
pub fn apply(img: &Rgb32FImage, params: &Params, channels: usize) -> (Vec<f32>, usize, usize) {
    let resized;
    let src = if img.dimensions() == params.resize_to {
        img
    } else {
        // The reference resizes the 8-bit image with PIL's bicubic; exact for 8-bit files
        // (16-bit ones are rounded to 8 bits first, as PIL's RGB conversion does).
        let (w, h) = params.resize_to;
        resized = rgb8_to_rgb32f(&resize_rgb8(&rgb32f_to_rgb8(img), w, h, Filter::Bicubic));
        &resized
    };
    let (_, _, w, h) = params.window;
    (rgb32f_window_to_chw(src, params.window, params.flip, channels), h as usize, w as usize)
}

fn rgb32f_to_rgb8(img: &Rgb32FImage) -> RgbImage {
    let data = img.as_raw().iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    RgbImage::from_raw(img.width(), img.height(), data).expect("same size")
}

fn rgb8_to_rgb32f(img: &RgbImage) -> Rgb32FImage {
    let data = img.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    Rgb32FImage::from_raw(img.width(), img.height(), data).expect("same size")
}
