//! `--device auto|cpu|cuda|cuda:N|emu` (or `ENGINE_DEVICE`) resolved to a runtime; `None`
//! means the CPU backend. `auto` picks the first GPU when a driver and a GPU are present and
//! says which device it chose, and why, in one line on stderr.

use super::{cuda_runtime, emu_runtime, probe, Runtime};
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;

pub fn open_runtime(spec: &str) -> Result<Option<Arc<dyn Runtime>>> {
    let cuda = |n: usize| cuda_runtime(n).map(Some).map_err(|e| anyhow!("cannot open cuda:{n}: {e}"));
    match spec {
        "cpu" => Ok(None),
        "emu" => Ok(Some(emu_runtime())),
        "cuda" => cuda(0),
        "auto" => match probe::gpus() {
            Ok(gpus) if !gpus.is_empty() => {
                eprintln!("device: cuda:0 ({}; auto)", gpus[0].name);
                cuda(0)
            }
            Ok(_) => {
                eprintln!("device: cpu (auto: no GPU found)");
                Ok(None)
            }
            Err(why) => {
                eprintln!("device: cpu (auto: {why})");
                Ok(None)
            }
        },
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => cuda(n),
            _ => bail!("unknown --device '{other}': expected auto, cpu, cuda, cuda:N or emu"),
        },
    }
}
