//! HTTP(S) downloads with a progress bar, an optional SHA-256 check and an atomic write.

use super::atomic::tmp_path;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Duration;

/// Download `url` to `dest`. The file appears only once complete (and matching
/// `expected_sha256`, hex, when given); on any error nothing is left behind.
pub fn download(url: &str, dest: &Path, expected_sha256: Option<&str>) -> Result<()> {
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let tmp = tmp_path(dest);
    let result = fetch_to(url, &tmp, expected_sha256).and_then(|()| {
        fs::rename(&tmp, dest)
            .with_context(|| format!("{}: cannot rename to {}", tmp.display(), dest.display()))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Whether `url` points at this machine (no proxy from the environment applies then).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| host == *h || host.starts_with(&format!("{h}:")))
}

fn fetch_to(url: &str, tmp: &Path, expected_sha256: Option<&str>) -> Result<()> {
    let mut config = ureq::Agent::config_builder();
    if is_loopback(url) {
        config = config.proxy(None);
    }
    let agent: ureq::Agent = config
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(120)))
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => anyhow::anyhow!("download {url}: the server answered HTTP {code}"),
        e => anyhow::anyhow!("download {url}: {e}"),
    })?;
    let body = response.into_body();
    let total = body.content_length();
    let mut reader = body.into_reader();

    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}").expect("valid template"),
        ),
    };
    bar.set_message(format!("downloading {url}"));

    let file = File::create(tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    let mut out = BufWriter::new(file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| format!("download {url}: connection failed after {received} bytes"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).with_context(|| format!("{}: write failed", tmp.display()))?;
        received += n as u64;
        bar.set_position(received);
    }
    bar.finish_and_clear();
    if let Some(total) = total {
        if received != total {
            bail!("download {url}: got {received} of {total} bytes");
        }
    }
    out.flush().with_context(|| format!("{}: write failed", tmp.display()))?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    if let Some(expected) = expected_sha256 {
        let got: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if !got.eq_ignore_ascii_case(expected.trim()) {
            bail!("download {url}: SHA-256 is {got}, expected {expected}");
        }
    }
    Ok(())
}
