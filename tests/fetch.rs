//! fetch-dataset and downloads, against a tiny HTTP server this test starts on 127.0.0.1.

use engine::io::download::download;
use engine::pix2pix::fetch::{fetch_dataset, DATASETS};
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

mod common;
use common::TempDir;

/// Serve `responses` (status line, body, declared length) to successive connections, one
/// each; returns the base URL. A declared length above the body length cuts the body short.
fn serve(responses: Vec<(&'static str, Vec<u8>, usize)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for (status, body, length) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            // Read the request head up to the blank line.
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let head = format!("HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
    });
    format!("http://{addr}")
}

fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 30) as u8, (y * 60) as u8, 7]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A .tar.gz holding `files` (path, bytes).
fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn fetch_dataset_downloads_and_unpacks_into_the_aligned_layout() {
    let dir = TempDir::new("fetch-ok");
    let archive = tar_gz(&[("tiny/train/1.png", png_bytes(8, 4)), ("tiny/test/1.png", png_bytes(8, 4))]);
    let len = archive.len();
    let url = serve(vec![("200 OK", archive, len)]);
    let dest = dir.path().join("datasets");
    let root = fetch_dataset("tiny", &dest, Some(&format!("{url}/tiny.tar.gz"))).unwrap();
    assert_eq!(root, dest.join("tiny"));
    assert_eq!(fs::read(root.join("train/1.png")).unwrap(), png_bytes(8, 4));
    assert!(root.join("test/1.png").is_file());
    // Nothing else left behind: no archive, no staging folder, no temp file.
    let mut left: Vec<String> =
        fs::read_dir(&dest).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, vec!["tiny"]);
    // Already there: not downloaded again (the server has stopped answering).
    assert_eq!(fetch_dataset("tiny", &dest, Some(&format!("{url}/tiny.tar.gz"))).unwrap(), root);
}

#[test]
fn archives_with_the_splits_at_the_top_are_accepted() {
    let dir = TempDir::new("fetch-flat");
    let archive = tar_gz(&[("val/a.png", png_bytes(4, 2))]);
    let len = archive.len();
    let url = serve(vec![("200 OK", archive, len)]);
    let root = fetch_dataset("flat", dir.path(), Some(&url)).unwrap();
    assert!(root.join("val/a.png").is_file());

    // An archive without any split folder is refused, leaving nothing behind.
    let archive = tar_gz(&[("readme.txt", b"hello".to_vec())]);
    let len = archive.len();
    let url = serve(vec![("200 OK", archive, len)]);
    let e = format!("{:#}", fetch_dataset("empty", dir.path(), Some(&url)).unwrap_err());
    assert!(e.contains("no train/"), "{e}");
    assert!(!dir.path().join("empty").exists() && !dir.path().join("empty.tar.gz").exists());
}

#[test]
fn http_errors_and_unknown_names_are_clean_errors() {
    let dir = TempDir::new("fetch-errors");
    let url = serve(vec![("404 Not Found", Vec::new(), 0)]);
    let e = format!(
        "{:#}",
        fetch_dataset("facades", dir.path(), Some(&format!("{url}/facades.tar.gz"))).unwrap_err()
    );
    assert!(e.contains("404"), "{e}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");

    let e = format!("{:#}", fetch_dataset("faces", dir.path(), None).unwrap_err());
    assert!(e.contains("faces") && DATASETS.iter().all(|d| e.contains(d)), "{e}");
    assert!(fetch_dataset("../up", dir.path(), Some(&url)).is_err());
}

#[test]
fn download_checks_length_and_sha256_and_writes_atomically() {
    let dir = TempDir::new("fetch-download");
    let body = b"some bytes of a file".to_vec();
    let sha: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    let url = serve(vec![
        ("200 OK", body.clone(), body.len()),
        ("200 OK", body.clone(), body.len()),
        ("200 OK", body.clone(), body.len() + 100), // connection closes early
    ]);
    let dest = dir.path().join("sub/file.bin");
    download(&url, &dest, Some(&sha)).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), body);

    let other = dir.path().join("other.bin");
    let e = format!("{:#}", download(&url, &other, Some(&"0".repeat(64))).unwrap_err());
    assert!(e.contains("SHA-256"), "{e}");
    assert!(!other.exists() && !dir.path().join("other.bin.tmp").exists());

    assert!(download(&url, &other, None).is_err(), "a short body is an error");
    assert!(!other.exists() && !dir.path().join("other.bin.tmp").exists());
}
