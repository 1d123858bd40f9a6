//! Opening a checkpoint file, with errors that name it.

use anyhow::{anyhow, Result};
use std::fs::File;
use std::io::Read;
use std::path::Path;

pub(super) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("checkpoint {} not found", path.display()),
        _ => anyhow!("cannot open checkpoint {}: {}", path.display(), e),
    })
}

pub(super) fn read_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow!("cannot read checkpoint {}: {}", path.display(), e)
}

pub(super) fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
