//! Image files <-> pixels. Models see images as `Vec<f32>` in CHW layout with values in
//! [-1, 1] (1 or 3 channels); files are PNG or JPEG. Inputs that are not 8-bit RGB
//! (grayscale, with alpha, 16-bit) are accepted and converted; `conversion_note` says how.

use super::atomic::write_atomic;
use anyhow::{bail, Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{
    ColorType, DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Rgb32FImage, RgbImage,
};
use std::path::Path;

/// File extensions treated as images (those of the reference project). Only PNG and JPEG
/// decode; the others are recognised so that they are reported, not silently ignored.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "webp"];

/// Whether the file name has an image extension (case-insensitive).
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    pub color: ColorType,
}

fn reader(path: &Path) -> Result<ImageReader<std::io::BufReader<std::fs::File>>> {
    let reader = ImageReader::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let reader = reader.with_guessed_format().with_context(|| format!("{}: cannot read", path.display()))?;
    if reader.format().is_none() {
        bail!("{}: not a PNG or JPEG image", path.display());
    }
    Ok(reader)
}

/// Size and pixel format from the file header, without decoding the pixels.
pub fn probe(path: &Path) -> Result<ImageInfo> {
    let decoder = reader(path)?
        .into_decoder()
        .map_err(|e| anyhow::anyhow!("{}: corrupt or unsupported image: {e}", path.display()))?;
    let (width, height) = decoder.dimensions();
    Ok(ImageInfo { width, height, color: decoder.color_type() })
}

/// Decode a whole image file.
pub fn load(path: &Path) -> Result<DynamicImage> {
    reader(path)?
        .decode()
        .map_err(|e| anyhow::anyhow!("{}: corrupt or unsupported image: {e}", path.display()))
}

/// How a file of this pixel format is converted to RGB, or `None` for plain 8-bit RGB.
/// Alpha is dropped, not blended, as the reference's PIL `convert('RGB')` does.
pub fn conversion_note(color: ColorType) -> Option<&'static str> {
    use ColorType::*;
    match color {
        Rgb8 => None,
        L8 => Some("grayscale, channels replicated to RGB"),
        La8 => Some("grayscale with alpha, alpha dropped and channels replicated to RGB"),
        Rgba8 => Some("RGBA, alpha channel dropped"),
        L16 => Some("16-bit grayscale, channels replicated to RGB"),
        La16 => Some("16-bit grayscale with alpha, alpha dropped and channels replicated to RGB"),
        Rgb16 => Some("16-bit RGB, read at full precision"),
        Rgba16 => Some("16-bit RGBA, alpha channel dropped"),
        _ => Some("unusual pixel format, converted to RGB"),
    }
}

/// Decode to 8-bit RGB (16-bit rounded to 8 bits, alpha dropped, gray replicated).
pub fn load_rgb8(path: &Path) -> Result<RgbImage> {
    Ok(load(path)?.to_rgb8())
}

/// Decode to float RGB in [0, 1], keeping the full precision of 16-bit files.
pub fn load_rgb32f(path: &Path) -> Result<Rgb32FImage> {
    Ok(load(path)?.to_rgb32f())
}

/// Luma of ITU-R 601, the weights of PIL's `convert('L')` used by the reference.
pub fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// A window of a float RGB image, optionally mirrored, to CHW in [-1, 1] with `channels`
/// 1 (luma) or 3. `window` is (x, y, width, height) and must lie inside the image.
pub fn rgb32f_window_to_chw(
    img: &Rgb32FImage,
    window: (u32, u32, u32, u32),
    flip: bool,
    channels: usize,
) -> Vec<f32> {
    let (x0, y0, w, h) = window;
    assert!(x0 + w <= img.width() && y0 + h <= img.height(), "window outside the image");
    assert!(channels == 1 || channels == 3, "channels must be 1 or 3");
    let (w, h) = (w as usize, h as usize);
    let plane = w * h;
    let mut out = vec![0f32; channels * plane];
    for y in 0..h {
        for x in 0..w {
            let sx = if flip { w - 1 - x } else { x };
            let p = img.get_pixel(x0 + sx as u32, y0 + y as u32).0;
            let i = y * w + x;
            if channels == 1 {
                out[i] = luma(p[0], p[1], p[2]) * 2.0 - 1.0;
            } else {
                for c in 0..3 {
                    out[c * plane + i] = p[c] * 2.0 - 1.0;
                }
            }
        }
    }
    out
}

/// A whole float RGB image to CHW in [-1, 1].
pub fn rgb32f_to_chw(img: &Rgb32FImage, channels: usize) -> Vec<f32> {
    rgb32f_window_to_chw(img, (0, 0, img.width(), img.height()), false, channels)
}

/// [-1, 1] -> 0..=255, rounded (the reference truncates) and clamped.
fn to_u8(v: f32) -> u8 {
    ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8
}

/// CHW in [-1, 1] (1 or 3 channels) to an 8-bit image (gray or RGB).
pub fn chw_to_image(data: &[f32], channels: usize, height: usize, width: usize) -> Result<DynamicImage> {
    let plane = height * width;
    if data.len() != channels * plane {
        bail!("image data has {} values, expected {channels}x{height}x{width}", data.len());
    }
    match channels {
        1 => {
            let pixels = data.iter().map(|&v| to_u8(v)).collect();
            let img = GrayImage::from_raw(width as u32, height as u32, pixels).expect("size checked");
            Ok(DynamicImage::ImageLuma8(img))
        }
        3 => {
            let mut pixels = Vec::with_capacity(3 * plane);
            for i in 0..plane {
                for c in 0..3 {
                    pixels.push(to_u8(data[c * plane + i]));
                }
            }
            let img = RgbImage::from_raw(width as u32, height as u32, pixels).expect("size checked");
            Ok(DynamicImage::ImageRgb8(img))
        }
        _ => bail!("cannot save an image with {channels} channels (1 or 3)"),
    }
}

/// Save atomically; the format follows the extension (PNG, or JPEG at quality 95 like
/// OpenCV's default in the reference's combine script).
pub fn save_image(path: &Path, img: &DynamicImage) -> Result<()> {
    let format = ImageFormat::from_path(path)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg))
        .with_context(|| format!("{}: can only write .png or .jpg files", path.display()))?;
    write_atomic(path, |out| {
        let result = match format {
            ImageFormat::Jpeg => {
                // JPEG has no alpha or 16-bit: write 8-bit gray or RGB.
                let img = match img.color() {
                    ColorType::L8 | ColorType::Rgb8 => img.clone(),
                    ColorType::L16 | ColorType::La8 | ColorType::La16 => {
                        DynamicImage::ImageLuma8(img.to_luma8())
                    }
                    _ => DynamicImage::ImageRgb8(img.to_rgb8()),
                };
                img.write_with_encoder(JpegEncoder::new_with_quality(out, 95))
            }
            _ => img.write_to(out, ImageFormat::Png),
        };
        result.with_context(|| format!("{}: cannot encode image", path.display()))
    })
}

/// Save CHW data in [-1, 1] as an image file (atomic).
pub fn save_chw(path: &Path, data: &[f32], channels: usize, height: usize, width: usize) -> Result<()> {
    save_image(path, &chw_to_image(data, channels, height, width)?)
}

/// Load an image file as CHW in [-1, 1] with 1 or 3 channels; returns (data, height, width).
pub fn load_chw(path: &Path, channels: usize) -> Result<(Vec<f32>, usize, usize)> {
    if channels != 1 && channels != 3 {
        bail!("images have 1 or 3 channels, not {channels}");
    }
    let img = load_rgb32f(path)?;
    let (w, h) = img.dimensions();
    Ok((rgb32f_to_chw(&img, channels), h as usize, w as usize))
}
