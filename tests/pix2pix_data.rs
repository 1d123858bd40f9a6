//! The data side of pix2pix: combine, aligned dataset, preprocessing, built-in dataset,
//! image I/O, the data RNG and the HTML pages.

use engine::io::image::{chw_to_image, conversion_note, load_chw, probe, save_chw, save_image};
use engine::pix2pix::combine::{combine, CombineOptions};
use engine::pix2pix::dataset::{AlignedDataset, DatasetOptions, Direction};
use engine::pix2pix::html::{write_test_page, write_train_page, EpochImages, LossPoint, TestRow};
use engine::pix2pix::preprocess::{Preprocess, PreprocessOptions};
use engine::pix2pix::rng::Rng;
use engine::pix2pix::synth::generate_builtin;
use image::{DynamicImage, GrayImage, ImageBuffer, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::TempDir;

/// An image whose every pixel differs from its neighbours and from its mirror image.
fn pattern(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    RgbImage::from_fn(w, h, |_, _| Rgb([rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]))
}

fn side_by_side(a: &RgbImage, b: &RgbImage) -> RgbImage {
    let mut ab = RgbImage::new(a.width() + b.width(), a.height());
    image::imageops::replace(&mut ab, a, 0, 0);
    image::imageops::replace(&mut ab, b, a.width() as i64, 0);
    ab
}

fn save_rgb(path: &Path, img: &RgbImage) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    save_image(path, &DynamicImage::ImageRgb8(img.clone())).unwrap();
}

/// CHW in [-1, 1] of an 8-bit RGB image.
fn chw(img: &RgbImage) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let mut out = vec![0.0; (3 * w * h) as usize];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            out[(c as u32 * w * h + y * w + x) as usize] = p[c] as f32 / 255.0 * 2.0 - 1.0;
        }
    }
    out
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

fn opts(preprocess: Preprocess, load: u32, crop: u32, no_flip: bool) -> DatasetOptions {
    DatasetOptions {
        preprocess: PreprocessOptions { preprocess, load_size: load, crop_size: crop, no_flip },
        ..Default::default()
    }
}

fn error_of<T>(r: anyhow::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

// ---------------------------------------------------------------- rng

#[test]
fn rng_state_round_trip_and_ranges() {
    let mut rng = Rng::new(42);
    for _ in 0..17 {
        rng.next_u64();
    }
    let mut copy = Rng::from_state(rng.state());
    let a: Vec<u64> = (0..100).map(|_| rng.next_u64()).collect();
    let b: Vec<u64> = (0..100).map(|_| copy.next_u64()).collect();
    assert_eq!(a, b);
    // Serde round trip too (training state files are JSON).
    let json = serde_json::to_string(&rng).unwrap();
    let mut back: Rng = serde_json::from_str(&json).unwrap();
    assert_eq!(back.next_u64(), rng.next_u64());

    let mut rng = Rng::new(7);
    let mut seen = [0usize; 5];
    let mut mean = 0.0;
    for _ in 0..5000 {
        seen[rng.below(5) as usize] += 1;
        let f = rng.next_f64();
        assert!((0.0..1.0).contains(&f));
        mean += f / 5000.0;
    }
    assert!(seen.iter().all(|&n| n > 800 && n < 1200), "{seen:?}");
    assert!((mean - 0.5).abs() < 0.03, "{mean}");
    let mut v: Vec<u32> = (0..50).collect();
    rng.shuffle(&mut v);
    assert_ne!(v, (0..50).collect::<Vec<_>>());
    v.sort();
    assert_eq!(v, (0..50).collect::<Vec<_>>());
    assert_ne!(Rng::derive(1, 0).next_u64(), Rng::derive(1, 1).next_u64());
    assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
}

// ---------------------------------------------------------------- image I/O

#[test]
fn chw_save_load_round_trip() {
    let dir = TempDir::new("data-chw");
    let (h, w) = (5, 7);
    let data: Vec<f32> = (0..3 * h * w).map(|i| (i as f32 / (3 * h * w) as f32) * 2.0 - 1.0).collect();
    let path = dir.path().join("x.png");
    save_chw(&path, &data, 3, h, w).unwrap();
    assert!(!dir.path().join("x.png.tmp").exists());
    let (back, bh, bw) = load_chw(&path, 3).unwrap();
    assert_eq!((bh, bw), (h, w));
    assert!(close(&back, &data, 1.0 / 255.0 + 1e-6));
    // One channel: saved as grayscale, loaded back as one channel.
    let gray: Vec<f32> = data[..h * w].to_vec();
    save_chw(&path, &gray, 1, h, w).unwrap();
    assert_eq!(probe(&path).unwrap().color, image::ColorType::L8);
    let (back, _, _) = load_chw(&path, 1).unwrap();
    assert!(close(&back, &gray, 1.0 / 255.0 + 1e-6));
    // Out-of-range values are clamped, wrong lengths refused.
    let img = chw_to_image(&[-3.0, 3.0], 1, 1, 2).unwrap().to_luma8();
    assert_eq!(img.as_raw(), &vec![0, 255]);
    assert!(chw_to_image(&[0.0; 5], 3, 1, 2).is_err());
    assert!(save_chw(&dir.path().join("x.gif"), &gray, 1, h, w).is_err());
}

#[test]
fn grayscale_rgba_and_16_bit_inputs_are_converted_with_a_note() {
    let dir = TempDir::new("data-formats");
    let rgba = dir.path().join("rgba.png");
    RgbaImage::from_pixel(2, 1, Rgba([255, 0, 51, 0])).save(&rgba).unwrap();
    let gray = dir.path().join("gray.png");
    GrayImage::from_pixel(2, 1, Luma([51])).save(&gray).unwrap();
    let deep = dir.path().join("deep.png");
    ImageBuffer::<Rgb<u16>, _>::from_pixel(2, 1, Rgb([65535, 0, 32768])).save(&deep).unwrap();

    let info = probe(&rgba).unwrap();
    assert_eq!((info.width, info.height), (2, 1));
    assert!(conversion_note(info.color).unwrap().contains("alpha"));
    assert!(conversion_note(probe(&gray).unwrap().color).unwrap().contains("grayscale"));
    assert!(conversion_note(probe(&deep).unwrap().color).unwrap().contains("16-bit"));
    assert!(conversion_note(image::ColorType::Rgb8).is_none());

    // Alpha dropped (not blended), as the reference's convert('RGB').
    let (v, _, _) = load_chw(&rgba, 3).unwrap();
    assert!(close(&v, &[1.0, 1.0, -1.0, -1.0, -0.6, -0.6], 1e-6), "{v:?}");
    let (v, _, _) = load_chw(&gray, 3).unwrap();
    assert!(close(&v, &[-0.6; 6], 1e-6));
    // 16-bit keeps its precision: 32768/65535 is not an 8-bit level.
    let (v, _, _) = load_chw(&deep, 3).unwrap();
    assert!((v[4] - (32768.0 / 65535.0 * 2.0 - 1.0)).abs() < 1e-5, "{}", v[4]);
    // RGB -> 1 channel uses PIL's luma weights.
    let (v, _, _) = load_chw(&rgba, 1).unwrap();
    let luma = 0.299 * 1.0 + 0.587 * 0.0 + 0.114 * 0.2;
    assert!((v[0] - (luma * 2.0 - 1.0)).abs() < 1e-5);
}

// ---------------------------------------------------------------- combine

#[test]
fn combine_pairs_and_reports_what_it_skips() {
    let dir = TempDir::new("data-combine");
    let (a, b, ab) = (dir.path().join("A"), dir.path().join("B"), dir.path().join("AB"));
    let (a1, b1) = (pattern(6, 4, 1), pattern(6, 4, 2));
    save_rgb(&a.join("train/1.png"), &a1);
    save_rgb(&b.join("train/1.png"), &b1);
    save_rgb(&a.join("train/2.png"), &pattern(6, 4, 3));
    save_rgb(&b.join("train/2.png"), &pattern(6, 4, 4));
    save_rgb(&a.join("train/3.png"), &pattern(6, 4, 5)); // no partner in B
    save_rgb(&b.join("train/4.png"), &pattern(6, 4, 6)); // no partner in A
    save_rgb(&a.join("val/5.png"), &pattern(6, 4, 7));
    save_rgb(&b.join("val/5.png"), &pattern(6, 5, 8)); // height differs
    save_rgb(&a.join("test/6.jpg"), &pattern(6, 4, 9));
    save_rgb(&b.join("test/6.jpg"), &pattern(6, 4, 10));
    fs::write(a.join("test/7.png"), b"not a png at all").unwrap(); // corrupt
    save_rgb(&b.join("test/7.png"), &pattern(6, 4, 11));
    save_rgb(&b.join("extra/8.png"), &pattern(6, 4, 12)); // split A lacks
    fs::write(a.join("train/notes.txt"), b"not an image").unwrap(); // ignored

    let report = combine(&CombineOptions {
        fold_a: a.clone(),
        fold_b: b.clone(),
        fold_ab: ab.clone(),
        use_ab: false,
        num_imgs: None,
    })
    .unwrap();
    assert_eq!(report.written, vec![("test".into(), 1), ("train".into(), 2), ("val".into(), 0)]);
    assert_eq!(report.written_total(), 3);
    assert_eq!(report.skipped_count(), 5, "{report}");
    assert!(!report.is_complete());
    let reason = |p: PathBuf| {
        report.skipped.iter().find(|s| s.path == p).map(|s| s.reason.clone()).unwrap_or_default()
    };
    assert!(reason(a.join("train/3.png")).contains("no partner"));
    assert!(reason(b.join("train/4.png")).contains("no partner"));
    assert!(reason(a.join("val/5.png")).contains("6x4"));
    assert!(reason(a.join("test/7.png")).contains("unreadable"));
    assert!(reason(b.join("extra")).contains("1 image"));
    let text = report.to_string();
    assert!(text.contains("skipped 5 file(s)") && text.contains("train/3.png"), "{text}");

    // The combined image is A then B, pixel for pixel (PNG is lossless).
    let out = image::open(ab.join("train/1.png")).unwrap().to_rgb8();
    assert_eq!(out, side_by_side(&a1, &b1));
    assert!(ab.join("train/2.png").is_file() && !ab.join("val/5.png").exists());
    // JPEG stays JPEG.
    assert_eq!(probe(&ab.join("test/6.jpg")).unwrap().width, 12);
    assert_eq!(image::ImageFormat::from_path(ab.join("test/6.jpg")).unwrap(), image::ImageFormat::Jpeg);
}

#[test]
fn combine_use_ab_naming_and_num_imgs() {
    let dir = TempDir::new("data-combine-ab");
    let (a, b, ab) = (dir.path().join("A"), dir.path().join("B"), dir.path().join("AB"));
    for i in 0..4 {
        save_rgb(&a.join(format!("train/{i}_A.png")), &pattern(4, 4, i));
        save_rgb(&b.join(format!("train/{i}_B.png")), &pattern(4, 4, 10 + i));
    }
    save_rgb(&a.join("train/odd.png"), &pattern(4, 4, 99));
    let opts = CombineOptions {
        fold_a: a.clone(),
        fold_b: b.clone(),
        fold_ab: ab.clone(),
        use_ab: true,
        num_imgs: Some(3),
    };
    let report = combine(&opts).unwrap();
    assert_eq!(report.written_total(), 3);
    let names: Vec<String> = {
        let mut v: Vec<String> = fs::read_dir(ab.join("train"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names, vec!["0.png", "1.png", "2.png"]);
    assert_eq!(
        image::open(ab.join("train/1.png")).unwrap().to_rgb8(),
        side_by_side(&pattern(4, 4, 1), &pattern(4, 4, 11))
    );
    // odd.png does not follow x_A naming: reported. 3_B.png is not an orphan (its A exists).
    assert_eq!(report.skipped.len(), 1, "{report}");
    assert!(report.skipped[0].path.ends_with("odd.png"));

    // A and B in the same folder (x_A and x_B side by side) pair up without complaints.
    let same = dir.path().join("same");
    for i in 0..2 {
        save_rgb(&same.join(format!("val/{i}_A.png")), &pattern(4, 4, i));
        save_rgb(&same.join(format!("val/{i}_B.png")), &pattern(4, 4, 10 + i));
    }
    let opts = CombineOptions {
        fold_a: same.clone(),
        fold_b: same.clone(),
        fold_ab: dir.path().join("out"),
        use_ab: true,
        num_imgs: None,
    };
    let report = combine(&opts).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.written_total(), 2);

    // Unusable folders are errors.
    let opts = CombineOptions { fold_a: dir.path().join("nope"), ..opts };
    assert!(error_of(combine(&opts)).contains("nope"));
}

// ---------------------------------------------------------------- dataset

/// Write A|B files `root/phase/{names}` from (A, B) patterns; returns the patterns.
fn write_pairs(root: &Path, phase: &str, names: &[&str], w: u32, h: u32) -> Vec<(RgbImage, RgbImage)> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (a, b) = (pattern(w, h, 100 + i as u64), pattern(w, h, 200 + i as u64));
            save_rgb(&root.join(phase).join(name), &side_by_side(&a, &b));
            (a, b)
        })
        .collect()
}

#[test]
fn dataset_splits_halves_sorts_files_and_follows_direction() {
    let dir = TempDir::new("data-dataset");
    let pairs = write_pairs(dir.path(), "train", &["b.png", "a.png", "c.png"], 8, 4);
    let none = opts(Preprocess::None, 286, 256, true);
    let ds = AlignedDataset::open(dir.path(), "train", &none).unwrap();
    assert_eq!(ds.len(), 3);
    assert!(ds.notes().is_empty());
    assert!(ds.path(0).ends_with("a.png") && ds.path(2).ends_with("c.png"));
    let mut rng = Rng::new(0);
    let s = ds.get(0, &mut rng).unwrap();
    assert_eq!((s.c_a, s.c_b, s.h, s.w), (3, 3, 4, 8));
    assert_eq!(s.stem(), "a");
    let (a, b) = &pairs[1]; // a.png was written second
    assert!(close(&s.a, &chw(a), 1e-6));
    assert!(close(&s.b, &chw(b), 1e-6));

    let back = DatasetOptions { direction: Direction::BtoA, ..none.clone() };
    let s = AlignedDataset::open(dir.path(), "train", &back).unwrap().get(0, &mut rng).unwrap();
    assert!(close(&s.a, &chw(b), 1e-6) && close(&s.b, &chw(a), 1e-6));

    // Grayscale input, colour output.
    let gray_in = DatasetOptions { input_nc: 1, ..none.clone() };
    let s = AlignedDataset::open(dir.path(), "train", &gray_in).unwrap().get(0, &mut rng).unwrap();
    assert_eq!((s.c_a, s.a.len(), s.b.len()), (1, 32, 96));
    let p = a.get_pixel(3, 2);
    let luma = (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0;
    assert!((s.a[2 * 8 + 3] - (luma * 2.0 - 1.0)).abs() < 1e-5);

    let limited = DatasetOptions { max_dataset_size: Some(2), ..none.clone() };
    assert_eq!(AlignedDataset::open(dir.path(), "train", &limited).unwrap().len(), 2);
    assert_eq!("BtoA".parse::<Direction>().unwrap(), Direction::BtoA);
    assert!("sideways".parse::<Direction>().is_err());
}

#[test]
fn dataset_from_two_folders_matches_the_combined_layout() {
    let dir = TempDir::new("data-pairdirs");
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (pattern(8, 6, 1), pattern(8, 6, 2));
    save_rgb(&da.join("x.png"), &a);
    save_rgb(&db.join("x.png"), &b);
    let o = opts(Preprocess::Crop, 286, 4, false);
    let ds = AlignedDataset::open_pair_dirs(&da, &db, &o).unwrap();
    assert_eq!(ds.len(), 1);
    save_rgb(&dir.path().join("ab/train/x.png"), &side_by_side(&a, &b));
    let combined = AlignedDataset::open(&dir.path().join("ab"), "train", &o).unwrap();
    for seed in 0..5 {
        let s1 = ds.get(0, &mut Rng::new(seed)).unwrap();
        let s2 = combined.get(0, &mut Rng::new(seed)).unwrap();
        assert_eq!((s1.a.clone(), s1.b.clone()), (s2.a, s2.b));
        assert!(s1.path.ends_with("a/x.png"));
    }
    // Missing partner and size mismatch name the files.
    save_rgb(&da.join("y.png"), &a);
    assert!(error_of(AlignedDataset::open_pair_dirs(&da, &db, &o)).contains("y.png"));
    save_rgb(&db.join("y.png"), &pattern(8, 8, 3));
    let e = error_of(AlignedDataset::open_pair_dirs(&da, &db, &o));
    assert!(e.contains("y.png") && e.contains("same size"), "{e}");
}

#[test]
fn preprocessing_geometry_of_each_mode() {
    let o = |preprocess, load, crop| PreprocessOptions {
        preprocess,
        load_size: load,
        crop_size: crop,
        no_flip: false,
    };
    assert_eq!(o(Preprocess::ResizeAndCrop, 40, 32).output_size(100, 60), (32, 32));
    assert_eq!(o(Preprocess::ResizeAndCrop, 40, 32).resized_size(100, 60), (40, 40));
    assert_eq!(o(Preprocess::Crop, 40, 32).output_size(100, 60), (32, 32));
    assert_eq!(o(Preprocess::ScaleWidth, 50, 20).output_size(100, 60), (50, 30));
    assert_eq!(o(Preprocess::ScaleWidth, 50, 40).output_size(100, 60), (50, 40)); // height at least crop
    assert_eq!(o(Preprocess::ScaleWidthAndCrop, 50, 20).output_size(100, 60), (20, 20));
    assert_eq!(o(Preprocess::None, 0, 0).output_size(100, 60), (100, 60));
    // Multiples of 4 with Python's round-half-to-even: 102/4 = 25.5 -> 26, 98/4 = 24.5 -> 24.
    assert_eq!(o(Preprocess::None, 0, 0).output_size(102, 62), (104, 64));
    assert_eq!(o(Preprocess::None, 0, 0).output_size(98, 58), (96, 56));
    assert_eq!(o(Preprocess::None, 0, 0).output_size(101, 63), (100, 64));

    // Through the dataset, every mode yields those sizes.
    let dir = TempDir::new("data-geometry");
    write_pairs(dir.path(), "train", &["p.png"], 50, 30);
    for (mode, load, crop, want) in [
        (Preprocess::ResizeAndCrop, 40, 32, (32, 32)),
        (Preprocess::Crop, 40, 24, (24, 24)),
        (Preprocess::ScaleWidth, 40, 16, (40, 24)),
        (Preprocess::ScaleWidthAndCrop, 40, 16, (16, 16)),
        (Preprocess::None, 40, 16, (48, 32)), // 50/4 = 12.5 rounds to 12
    ] {
        let ds = AlignedDataset::open(dir.path(), "train", &opts(mode, load, crop, false)).unwrap();
        let s = ds.get(0, &mut Rng::new(3)).unwrap();
        assert_eq!((s.w, s.h), want, "{mode}");
        assert_eq!(s.a.len(), 3 * want.0 * want.1);
        assert!(s.a.iter().chain(&s.b).all(|v| (-1.0..=1.0).contains(v)), "{mode}: values outside [-1, 1]");
        assert_eq!(mode.name().parse::<Preprocess>().unwrap(), mode);
    }
    assert!("squash".parse::<Preprocess>().is_err());
    // The same names for clap (the CLI can use these enums directly).
    use clap::ValueEnum;
    for mode in Preprocess::value_variants() {
        assert_eq!(mode.to_possible_value().unwrap().get_name(), mode.name());
    }
    assert_eq!(Direction::from_str("BtoA", false).unwrap(), Direction::BtoA);
}

#[test]
fn a_and_b_get_the_same_crop_and_flip() {
    let dir = TempDir::new("data-sameparams");
    let img = pattern(20, 14, 5);
    save_rgb(&dir.path().join("train/s.png"), &side_by_side(&img, &img));
    for mode in [
        Preprocess::ResizeAndCrop,
        Preprocess::Crop,
        Preprocess::ScaleWidth,
        Preprocess::ScaleWidthAndCrop,
        Preprocess::None,
    ] {
        let ds = AlignedDataset::open(dir.path(), "train", &opts(mode, 24, 12, false)).unwrap();
        for seed in 0..8 {
            let s = ds.get(0, &mut Rng::new(seed)).unwrap();
            assert_eq!(s.a, s.b, "{mode}, seed {seed}");
        }
    }

    // `crop`: the output is a window of the input, mirrored about half the time, at
    // positions that vary; the draw depends only on the rng.
    let ds = AlignedDataset::open(dir.path(), "train", &opts(Preprocess::Crop, 24, 12, false)).unwrap();
    let full = chw(&img);
    let window = |x: usize, y: usize, flip: bool| -> Vec<f32> {
        let mut out = Vec::new();
        for c in 0..3 {
            for j in 0..12 {
                for i in 0..12 {
                    let sx = if flip { x + 11 - i } else { x + i };
                    out.push(full[c * 20 * 14 + (y + j) * 20 + sx]);
                }
            }
        }
        out
    };
    let (mut flips, mut positions) = (0, std::collections::BTreeSet::new());
    for seed in 0..40 {
        let s = ds.get(0, &mut Rng::new(seed)).unwrap();
        let found = (0..=8)
            .flat_map(|x| (0..=2).flat_map(move |y| [(x, y, false), (x, y, true)]))
            .find(|&(x, y, f)| window(x, y, f) == s.a);
        let (x, y, flip) =
            found.unwrap_or_else(|| panic!("seed {seed}: output is not a window of the input"));
        flips += flip as usize;
        positions.insert((x, y));
        assert_eq!(s.a, ds.get(0, &mut Rng::new(seed)).unwrap().a, "same rng state, same sample");
    }
    assert!((8..=32).contains(&flips), "{flips} flips of 40");
    assert!(positions.len() > 5, "{positions:?}");
    // --no-flip never mirrors.
    let ds = AlignedDataset::open(dir.path(), "train", &opts(Preprocess::Crop, 24, 12, true)).unwrap();
    for seed in 0..10 {
        let s = ds.get(0, &mut Rng::new(seed)).unwrap();
        assert!((0..=8).any(|x| (0..=2).any(|y| window(x, y, false) == s.a)), "seed {seed}");
    }
}

#[test]
fn dataset_notes_conversions_of_grayscale_and_rgba_files() {
    let dir = TempDir::new("data-notes");
    let train = dir.path().join("train");
    fs::create_dir_all(&train).unwrap();
    GrayImage::from_pixel(8, 4, Luma([200])).save(train.join("g.png")).unwrap();
    RgbaImage::from_pixel(8, 4, Rgba([10, 20, 30, 128])).save(train.join("r.png")).unwrap();
    save_rgb(&train.join("x.png"), &pattern(8, 4, 1));
    let ds = AlignedDataset::open(dir.path(), "train", &opts(Preprocess::None, 8, 4, true)).unwrap();
    let notes = ds.notes().join("\n");
    assert!(notes.contains("1 of 3") && notes.contains("grayscale") && notes.contains("alpha"), "{notes}");
    let s = ds.get(0, &mut Rng::new(0)).unwrap();
    assert!(close(&s.a, &[200.0 / 255.0 * 2.0 - 1.0; 48], 1e-6));
    let s = ds.get(1, &mut Rng::new(0)).unwrap();
    assert!((s.b[0] - (10.0 / 255.0 * 2.0 - 1.0)).abs() < 1e-6);
}

#[test]
fn dataset_errors_name_the_problem() {
    let dir = TempDir::new("data-errors");
    let root = dir.path();
    let o = opts(Preprocess::ResizeAndCrop, 286, 256, false);
    assert!(error_of(AlignedDataset::open(&root.join("missing"), "train", &o)).contains("missing"));
    assert!(error_of(AlignedDataset::open(root, "train", &o)).contains("train"));
    fs::create_dir_all(root.join("train")).unwrap();
    assert!(error_of(AlignedDataset::open(root, "train", &o)).contains("no images"));

    save_rgb(&root.join("odd/o.png"), &pattern(7, 4, 1));
    let e = error_of(AlignedDataset::open(root, "odd", &o));
    assert!(e.contains("o.png") && e.contains("odd"), "{e}");

    save_rgb(&root.join("small/s.png"), &pattern(20, 10, 1));
    let e = error_of(AlignedDataset::open(root, "small", &opts(Preprocess::Crop, 16, 16, false)));
    assert!(e.contains("s.png") && e.contains("smaller than --crop-size 16"), "{e}");

    fs::create_dir_all(root.join("bad")).unwrap();
    fs::write(root.join("bad/c.png"), b"garbage, not an image").unwrap();
    assert!(error_of(AlignedDataset::open(root, "bad", &o)).contains("c.png"));

    // A PNG with an intact header but cut-off pixels: found when loaded, naming the file.
    save_rgb(&root.join("cut/t.png"), &pattern(64, 32, 2));
    let bytes = fs::read(root.join("cut/t.png")).unwrap();
    fs::write(root.join("cut/t.png"), &bytes[..bytes.len() / 2]).unwrap();
    let ds = AlignedDataset::open(root, "cut", &opts(Preprocess::None, 8, 8, true)).unwrap();
    assert!(error_of(ds.get(0, &mut Rng::new(0))).contains("t.png"));

    assert!(error_of(AlignedDataset::open(root, "cut", &opts(Preprocess::ResizeAndCrop, 100, 256, false)))
        .contains("--load-size 100"));
    let bad_nc = DatasetOptions { input_nc: 2, ..o };
    assert!(error_of(AlignedDataset::open(root, "cut", &bad_nc)).contains("--input-nc 2"));
}

// ---------------------------------------------------------------- built-in dataset

fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for split in ["train", "val", "test"] {
        let mut names: Vec<PathBuf> =
            fs::read_dir(dir.join(split)).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            out.push((rel, fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn builtin_dataset_is_deterministic_and_in_the_aligned_layout() {
    let dir = TempDir::new("data-builtin");
    let one = generate_builtin(&dir.path().join("one"), 32, 6, 2, 3, 11).unwrap();
    let two = generate_builtin(&dir.path().join("two"), 32, 6, 2, 3, 11).unwrap();
    let other = generate_builtin(&dir.path().join("other"), 32, 6, 2, 3, 12).unwrap();
    let files = files_of(&one);
    assert_eq!(files.len(), 11);
    assert_eq!(files, files_of(&two), "same seed, same bytes");
    assert_ne!(files, files_of(&other), "another seed, other images");
    assert!(files[0].0.ends_with("train/00000.png"));

    // Each file is A|B of 32x32 halves; A is a gray line drawing, B is coloured.
    let ds = AlignedDataset::open(&one, "train", &opts(Preprocess::None, 32, 32, true)).unwrap();
    assert_eq!(ds.len(), 6);
    let (mut coloured, mut dark_lines) = (0, 0);
    for i in 0..ds.len() {
        let s = ds.get(i, &mut Rng::new(0)).unwrap();
        assert_eq!((s.w, s.h), (32, 32));
        let plane = 32 * 32;
        for p in 0..plane {
            assert!(
                (s.a[p] - s.a[plane + p]).abs() < 1e-6 && (s.a[p] - s.a[2 * plane + p]).abs() < 1e-6,
                "A is gray"
            );
            dark_lines += (s.a[p] < -0.5) as usize;
            coloured += ((s.b[p] - s.b[2 * plane + p]).abs() > 0.5) as usize;
        }
        assert!(s.a.iter().filter(|&&v| v > 0.9).count() > plane / 2, "A is mostly white paper");
    }
    assert!(dark_lines > 100 && coloured > 100, "{dark_lines} line pixels, {coloured} coloured pixels");

    // Reused as it is when asked again with the same parameters...
    let manifest = one.join("manifest.json");
    let stamp = fs::metadata(one.join("train/00000.png")).unwrap().modified().unwrap();
    generate_builtin(&one, 32, 6, 2, 3, 11).unwrap();
    assert_eq!(fs::metadata(one.join("train/00000.png")).unwrap().modified().unwrap(), stamp);
    // ...regenerated with other parameters...
    generate_builtin(&one, 16, 2, 1, 1, 11).unwrap();
    assert_eq!(files_of(&one).len(), 4);
    assert!(fs::read_to_string(&manifest).unwrap().contains("\"size\": 16"));
    // ...and redone when a file went missing.
    fs::remove_file(one.join("val/00000.png")).unwrap();
    generate_builtin(&one, 16, 2, 1, 1, 11).unwrap();
    assert!(one.join("val/00000.png").is_file());
    // A folder that is not ours is left alone.
    let foreign = dir.path().join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("mine.txt"), b"keep me").unwrap();
    assert!(error_of(generate_builtin(&foreign, 16, 1, 1, 1, 0)).contains("refusing"));
    assert!(foreign.join("mine.txt").is_file());
}

// ---------------------------------------------------------------- html

fn image_sources(html: &str) -> Vec<String> {
    html.split("<img src=\"").skip(1).map(|rest| rest[..rest.find('"').unwrap()].to_string()).collect()
}

#[test]
fn train_page_shows_epochs_newest_first_and_plots_losses() {
    let dir = TempDir::new("data-trainpage");
    let web = dir.path().join("web");
    let entries: Vec<EpochImages> = (1..=2).map(EpochImages::new).collect();
    for e in &entries {
        for f in [&e.real_a, &e.fake_b, &e.real_b] {
            save_chw(&web.join("images").join(f), &[0.0; 12], 3, 2, 2).unwrap();
        }
    }
    let losses: Vec<LossPoint> = (0..30)
        .map(|i| {
            let t = i as f64 / 10.0;
            LossPoint {
                epoch: t,
                g_gan: 0.7 + 0.1 * t,
                g_l1: 30.0 - 5.0 * t,
                d_real: 0.6,
                d_fake: if i == 5 { f64::NAN } else { 0.5 },
            }
        })
        .collect();
    let page = write_train_page(&web, "run <1>", &entries, &losses).unwrap();
    assert_eq!(page, web.join("index.html"));
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("run &lt;1&gt;"));
    let srcs = image_sources(&html);
    assert_eq!(srcs.len(), 6);
    for src in &srcs {
        assert!(web.join(src).is_file(), "{src} does not exist");
    }
    assert!(srcs[0].contains("epoch002"), "newest first: {srcs:?}");
    for name in ["G_GAN", "G_L1", "D_real", "D_fake"] {
        let line = html.lines().find(|l| l.contains(&format!("data-name=\"{name}\""))).unwrap();
        let points = line.split("points=\"").nth(1).unwrap();
        let n = points[..points.find('"').unwrap()].split(' ').count();
        assert_eq!(n, if name == "D_fake" { 29 } else { 30 }, "{name}");
        assert!(!points.contains("NaN"));
    }
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());

    // A missing image shows as text, never as a broken image; no losses yet is fine.
    let html = fs::read_to_string(write_train_page(&web, "t", &[EpochImages::new(9)], &[]).unwrap()).unwrap();
    assert!(image_sources(&html).is_empty() && html.contains("missing") && html.contains("No losses"));
}

#[test]
fn test_page_links_existing_images_with_relative_paths() {
    let dir = TempDir::new("data-testpage");
    let results = dir.path().join("results/test_latest");
    for stem in ["a b", "c&d"] {
        for label in ["real_A", "fake_B", "real_B"] {
            save_chw(&results.join(format!("images/{stem}_{label}.png")), &[0.5; 4], 1, 2, 2).unwrap();
        }
    }
    let rows = vec![
        TestRow { stem: "a b".into(), l1: Some(0.25), psnr: Some(20.0), ssim: Some(0.5) },
        TestRow { stem: "c&d".into(), l1: Some(0.75), psnr: Some(10.0), ssim: None },
    ];
    let html = fs::read_to_string(write_test_page(&results, "test", &rows).unwrap()).unwrap();
    let srcs = image_sources(&html);
    assert_eq!(srcs.len(), 6);
    assert_eq!(srcs[0], "images/a%20b_real_A.png");
    assert!(html.contains("c&amp;d") && html.contains("mean L1 0.5000") && html.contains("mean PSNR 15.00"));
    // Moving the folder keeps the page working: paths are relative.
    let moved = dir.path().join("moved");
    fs::rename(&results, &moved).unwrap();
    for src in srcs {
        let decoded = src.replace("%20", " ").replace("%26", "&");
        assert!(moved.join(decoded).is_file());
    }
}
