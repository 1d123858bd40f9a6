//! `engine ablate`: the paper's objective ablation (Isola et al. 2017, section 4.2) on any
//! dataset. Each variant trains with otherwise identical options and seed into
//! `CHECKPOINTS_DIR/NAME_<variant>` (resumed if a previous ablation was interrupted),
//! is tested into `RESULTS_DIR/NAME_<variant>/test_latest`, and one comparison page
//! (`RESULTS_DIR/NAME_ablation/index.html`) shows them side by side.

use super::compare::{compare, FolderScores};
use super::options::{Objective, TrainOptions};
use super::test::{test, TestOptions};
use super::train::train;
use crate::tensor::Device;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A variant's folder suffix (`l1+cgan` -> `l1_cgan`: no `+` in paths and URLs).
pub fn variant_folder(name: &str, v: Objective) -> String {
    format!("{name}_{}", v.name().replace('+', "_"))
}

/// `l1,cgan,l1+cgan,gan+l1` -> objectives, each at most once.
pub fn parse_variants(list: &str) -> Result<Vec<Objective>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = Objective::parse(item).with_context(|| format!("--variants {list}"))?;
        if out.contains(&v) {
            bail!("--variants {list}: {item} is listed twice");
        }
        out.push(v);
    }
    if out.len() < 2 {
        bail!("--variants needs at least two of l1, cgan, l1+cgan, gan+l1 (got `{list}`)");
    }
    Ok(out)
}

pub struct Ablation {
    pub page: PathBuf,
    pub scores: Vec<FolderScores>,
}

/// Trains, tests and compares every variant of `base` (its objective is replaced).
pub fn ablate(
    base: &TrainOptions,
    name: &str,
    variants: &[Objective],
    results_dir: &Path,
    num_test: usize,
    device: &Device,
) -> Result<Ablation> {
    let mut folders = Vec::new();
    for &v in variants {
        let run = variant_folder(name, v);
        let mut o = base.clone();
        o.objective = v;
        o.name = Some(run.clone());
        // An interrupted ablation picks up where each variant stopped.
        o.continue_train =
            base.continue_train || o.checkpoints_dir.join(&run).join("latest_state.safetensors").exists();
        eprintln!("ablate: variant {} -> {}", v.name(), o.checkpoints_dir.join(&run).display());
        train(&o, &run, device)?;
        let t = TestOptions {
            name: run.clone(),
            dataroot: None,
            checkpoints_dir: o.checkpoints_dir.clone(),
            results_dir: results_dir.to_path_buf(),
            phase: "test".into(),
            epoch: "latest".into(),
            num_test,
            eval: false,
            report: None,
        };
        let (out, _) = test(&t, device)?;
        folders.push((v.name().to_string(), out));
    }
    let (page, scores) = compare(&folders, &results_dir.join(format!("{name}_ablation")), num_test)?;
    Ok(Ablation { page, scores })
}
