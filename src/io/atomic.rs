//! Atomic file writes: write `path.tmp`, flush it to disk, then rename over `path`, so a
//! reader (or a run killed half-way) never sees a half-written file.

use anyhow::{Context, Result};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// `dir/name.ext` -> `dir/name.ext.tmp`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Create the parent folder if needed, let `write` fill `path.tmp`, then rename it to `path`.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let tmp = tmp_path(path);
    let result = (|| -> Result<()> {
        let file = File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.flush().with_context(|| format!("{}: write failed", tmp.display()))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().with_context(|| format!("{}: sync failed", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("{}: cannot rename to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |out| {
        out.write_all(bytes).with_context(|| format!("{}: write failed", path.display()))
    })
}
