//! pix2pix checkpoints: `<label>_net_G.safetensors` / `<label>_net_D.safetensors` with the
//! reference's tensor names and the architecture in the metadata, and, for resuming,
//! `latest_state.safetensors`: one file (so always consistent) holding G, D, both Adam
//! states and the loop's position and random streams.

use super::model::{Arch, Pix2Pix};
use super::options::TrainOptions;
use crate::io::checkpoint::{load_checkpoint, save_checkpoint, Checkpoint};
use crate::nn::{Module, StateData, StateEntry};
use crate::optim::adam::{Adam, AdamState};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the training loop stands after a completed epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub epoch: usize,
    pub iteration: usize,
    pub scheduler_steps: usize,
    pub data_rng: u64,
    pub options: TrainOptions,
    #[serde(default)]
    pub g_rng: Vec<(String, u64)>,
    #[serde(default)]
    pub d_rng: Vec<(String, u64)>,
    #[serde(default)]
    pub g_steps: Vec<u64>,
    #[serde(default)]
    pub d_steps: Vec<u64>,
}

impl TrainState {
    pub fn new(o: &TrainOptions) -> TrainState {
        TrainState {
            epoch: o.epoch_count.saturating_sub(1),
            iteration: 0,
            scheduler_steps: 0,
            data_rng: super::rng::Rng::derive(o.seed, 0x5eed).state(),
            options: o.clone(),
            g_rng: vec![],
            d_rng: vec![],
            g_steps: vec![],
            d_steps: vec![],
        }
    }
}

pub fn net_path(dir: &Path, label: &str, net: &str) -> PathBuf {
    dir.join(format!("{label}_net_{net}.safetensors"))
}

/// A module's state dict as checkpoint tensors (int64 counters stored as f32: exact below 2^24).
pub fn to_tensors(prefix: &str, m: &dyn Module) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    m.state_dict()
        .into_iter()
        .map(|e| {
            let data = match e.data {
                StateData::F32(v) => v,
                StateData::I64(v) => v.into_iter().map(|x| x as f32).collect(),
            };
            (format!("{prefix}{}", e.name), e.shape, data)
        })
        .collect()
}

/// Checkpoint tensors (under `prefix`) as state entries for `m`, typed as `m` expects.
pub fn state_entries(ck: &Checkpoint, prefix: &str, m: &dyn Module) -> Result<Vec<StateEntry>> {
    let mut out = Vec::new();
    for e in m.state_dict() {
        let name = format!("{prefix}{}", e.name);
        let t = ck.get(&name).ok_or_else(|| {
            anyhow!(
                "checkpoint {}: missing tensor '{}' (expected shape {:?})",
                ck.path.display(),
                name,
                e.shape
            )
        })?;
        if t.shape != e.shape {
            return Err(anyhow!(
                "checkpoint {}: tensor '{}' has shape {:?}, expected {:?}",
                ck.path.display(),
                name,
                t.shape,
                e.shape
            ));
        }
        out.push(match e.data {
            StateData::F32(_) => StateEntry::f32(&e.name, &t.shape, t.data.clone()),
            StateData::I64(_) => {
                StateEntry::i64(&e.name, &t.shape, t.data.iter().map(|&x| x as i64).collect())
            }
        });
    }
    Ok(out)
}

fn metadata(model: &Pix2Pix, kind: &str) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    m.insert("format".into(), format!("engine-pix2pix-{kind}"));
    m.insert("arch".into(), serde_json::to_string(&model.arch)?);
    // The precision the weights were trained in (informational: any precision may load them).
    let precision =
        model.opt_g.params().first().map_or("fp32".into(), |p| p.device().precision().to_string());
    m.insert("precision".into(), precision);
    Ok(m)
}

pub fn adam_tensors(
    prefix: &str,
    s: &AdamState,
    params: &[crate::tensor::Tensor],
) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    for (i, p) in params.iter().enumerate() {
        out.push((format!("{prefix}m.{i}"), p.shape().to_vec(), s.m[i].clone()));
        out.push((format!("{prefix}v.{i}"), p.shape().to_vec(), s.v[i].clone()));
    }
    out
}

pub fn load_adam(ck: &Checkpoint, prefix: &str, opt: &mut Adam, steps: &[u64]) -> Result<()> {
    let params = opt.params().to_vec();
    let mut m = Vec::new();
    let mut v = Vec::new();
    for (i, p) in params.iter().enumerate() {
        m.push(ck.tensor(&format!("{prefix}m.{i}"), p.shape())?.to_vec());
        v.push(ck.tensor(&format!("{prefix}v.{i}"), p.shape())?.to_vec());
    }
    opt.load_state(&AdamState { steps: steps.to_vec(), m, v })
}

/// Writes G and D (and, with `state`, the resume file) under `label`.
pub fn save_model(dir: &Path, label: &str, model: &Pix2Pix, state: Option<&TrainState>) -> Result<()> {
    save_checkpoint(net_path(dir, label, "G"), &to_tensors("", &model.g), &metadata(model, "G")?)?;
    if let Some(d) = &model.d {
        save_checkpoint(net_path(dir, label, "D"), &to_tensors("", d.as_ref()), &metadata(model, "D")?)?;
    }
    if let Some(state) = state {
        let g = model.opt_g.state();
        let mut st = state.clone();
        st.g_rng = model.g.rng_state();
        st.g_steps = g.steps.clone();
        let mut tensors = to_tensors("G.", &model.g);
        tensors.extend(adam_tensors("opt_G.", &g, model.opt_g.params()));
        if let (Some(d), Some(opt_d)) = (&model.d, &model.opt_d) {
            let d_state = opt_d.state();
            st.d_rng = d.rng_state();
            st.d_steps = d_state.steps.clone();
            tensors.extend(to_tensors("D.", d.as_ref()));
            tensors.extend(adam_tensors("opt_D.", &d_state, opt_d.params()));
        }
        let mut meta = metadata(model, "state")?;
        meta.insert("state".into(), serde_json::to_string(&st)?);
        save_checkpoint(dir.join(format!("{label}_state.safetensors")), &tensors, &meta)?;
    }
    Ok(())
}

/// Restores a model for resuming from `<label>_state.safetensors`; returns the loop state.
pub fn load_model(
    dir: &Path,
    label: &str,
    model: &mut Pix2Pix,
    with_state: bool,
) -> Result<Option<TrainState>> {
    let path = dir.join(format!("{label}_state.safetensors"));
    if !with_state || !path.exists() {
        if with_state {
            return Ok(None);
        }
        let g = load_checkpoint(net_path(dir, label, "G"))?;
        model
            .g
            .load_state_dict(&state_entries(&g, "", &model.g)?)
            .with_context(|| format!("loading {}", g.path.display()))?;
        return Ok(None);
    }
    let ck = load_checkpoint(&path)?;
    let state: TrainState = serde_json::from_str(
        ck.metadata
            .get("state")
            .ok_or_else(|| anyhow!("{}: no training state in the metadata", path.display()))?,
    )
    .with_context(|| format!("{}: unreadable training state", path.display()))?;
    let arch: Arch = serde_json::from_str(ck.metadata.get("arch").map(String::as_str).unwrap_or("null"))
        .with_context(|| format!("{}: no architecture in the metadata", path.display()))?;
    if arch != model.arch {
        return Err(anyhow!(
            "{}: saved for {:?}, but the options now ask for {:?}; resume with the same options",
            path.display(),
            arch,
            model.arch
        ));
    }
    model.g.load_state_dict(&state_entries(&ck, "G.", &model.g)?)?;
    model.g.set_rng_state(&state.g_rng)?;
    load_adam(&ck, "opt_G.", &mut model.opt_g, &state.g_steps)?;
    if let (Some(d), Some(opt_d)) = (&model.d, &mut model.opt_d) {
        d.load_state_dict(&state_entries(&ck, "D.", d.as_ref())?)?;
        d.set_rng_state(&state.d_rng)?;
        load_adam(&ck, "opt_D.", opt_d, &state.d_steps)?;
    }
    Ok(Some(state))
}

/// Loads a generator checkpoint for inference: ours (.safetensors, architecture from the
/// metadata) or the reference project's (`latest_net_G.pth`, architecture from `fallback`).
pub fn load_generator(
    path: &Path,
    fallback: &Arch,
    device: &crate::tensor::Device,
) -> Result<(Arch, crate::nn::Generator)> {
    let ck = load_checkpoint(path)?;
    let arch = match ck.metadata.get("arch") {
        Some(a) => serde_json::from_str(a)
            .with_context(|| format!("{}: unreadable architecture metadata", path.display()))?,
        None => fallback.clone(),
    };
    super::arch_check::check_generator_arch(&arch, &ck)?;
    let g = arch.generator(0, device)?;
    let entries = state_entries(&ck, "", &g).with_context(|| format!("{} does not hold a {} generator (ngf {}, norm {:?}); for reference checkpoints pass --netg/--ngf/--norm", path.display(), arch.netg, arch.ngf, arch.norm))?;
    g.load_state_dict(&entries)?;
    Ok((arch, g))
}
