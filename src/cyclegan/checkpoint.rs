//! CycleGAN checkpoints: `<label>_net_{G_A,G_B,D_A,D_B}.safetensors` (the reference's file
//! names, our format) with the reference's tensor names; a generator file carries its
//! architecture in pix2pix's terms, so `translate` and `test` read it like any generator.
//! For resuming, `latest_state.safetensors`: one file (always consistent) holding the four
//! networks, both Adam states, both image pools and the loop's position and random streams.

use super::model::{CycleArch, CycleGan, Net};
use super::options::CycleOptions;
use super::pool::PoolState;
use crate::io::checkpoint::{load_checkpoint, save_checkpoint};
use crate::pix2pix::checkpoint::{adam_tensors, load_adam, net_path, state_entries, to_tensors};
use crate::pix2pix::rng::Rng;
use crate::tensor::Device;
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Where the training loop stands after a completed epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CycleState {
    pub epoch: usize,
    pub iteration: usize,
    pub scheduler_steps: usize,
    /// The data stream: epoch order, B draws, crops and flips.
    pub data_rng: u64,
    pub options: CycleOptions,
    #[serde(default)]
    pub net_rng: Vec<(String, Vec<(String, u64)>)>,
    #[serde(default)]
    pub g_steps: Vec<u64>,
    #[serde(default)]
    pub d_steps: Vec<u64>,
    /// (rng state, stored images) of the fake_A and fake_B pools.
    #[serde(default)]
    pub pools: Vec<(u64, usize)>,
}

impl CycleState {
    pub fn new(o: &CycleOptions) -> CycleState {
        CycleState {
            epoch: o.epoch_count.saturating_sub(1),
            iteration: 0,
            scheduler_steps: 0,
            data_rng: Rng::derive(o.seed, 0xc1c1e).state(),
            options: o.clone(),
            net_rng: vec![],
            g_steps: vec![],
            d_steps: vec![],
            pools: vec![],
        }
    }
}

fn metadata(model: &CycleGan, net: Net, kind: &str) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    m.insert("format".into(), format!("engine-cyclegan-{kind}"));
    if matches!(net, Net::GA | Net::GB) && kind != "state" {
        m.insert("arch".into(), serde_json::to_string(&model.arch.generator_arch(net))?);
    }
    m.insert("cycle_arch".into(), serde_json::to_string(&model.arch)?);
    let precision =
        model.opt_g.params().first().map_or("fp32".into(), |p| p.device().precision().to_string());
    m.insert("precision".into(), precision);
    Ok(m)
}

/// Writes the four networks (and, with `state`, the resume file) under `label`.
pub fn save_cycle(dir: &Path, label: &str, model: &CycleGan, state: Option<&CycleState>) -> Result<()> {
    for net in Net::ALL {
        let tensors = to_tensors("", model.net(net));
        save_checkpoint(net_path(dir, label, net.name()), &tensors, &metadata(model, net, net.name())?)?;
    }
    let Some(state) = state else { return Ok(()) };
    let mut st = CycleState { net_rng: Vec::new(), pools: Vec::new(), ..state.clone() };
    let mut tensors = Vec::new();
    for net in Net::ALL {
        let m = model.net(net);
        st.net_rng.push((net.name().into(), m.rng_state()));
        tensors.extend(to_tensors(&format!("{}.", net.name()), m));
    }
    let (g, d) = (model.opt_g.state(), model.opt_d.state());
    st.g_steps = g.steps.clone();
    st.d_steps = d.steps.clone();
    tensors.extend(adam_tensors("opt_G.", &g, model.opt_g.params()));
    tensors.extend(adam_tensors("opt_D.", &d, model.opt_d.params()));
    for (name, pool) in [("pool_A", &model.pool_a), ("pool_B", &model.pool_b)] {
        let s = pool.state();
        st.pools.push((s.rng, s.images.len()));
        for (i, (shape, data)) in s.images.into_iter().enumerate() {
            tensors.push((format!("{name}.{i}"), shape, data));
        }
    }
    let mut meta = metadata(model, Net::GA, "state")?;
    meta.insert("state".into(), serde_json::to_string(&st)?);
    save_checkpoint(dir.join(format!("{label}_state.safetensors")), &tensors, &meta)
}

/// Restores a model for resuming from `<label>_state.safetensors`; None when there is none.
pub fn load_cycle_state(
    dir: &Path,
    label: &str,
    model: &mut CycleGan,
    device: &Device,
) -> Result<Option<CycleState>> {
    let path = dir.join(format!("{label}_state.safetensors"));
    if !path.exists() {
        return Ok(None);
    }
    let ck = load_checkpoint(&path)?;
    let state: CycleState = serde_json::from_str(
        ck.metadata
            .get("state")
            .ok_or_else(|| anyhow!("{}: no training state in the metadata", path.display()))?,
    )
    .with_context(|| format!("{}: unreadable training state (not a CycleGAN checkpoint?)", path.display()))?;
    let arch: CycleArch =
        serde_json::from_str(ck.metadata.get("cycle_arch").map(String::as_str).unwrap_or("null"))
            .with_context(|| format!("{}: no CycleGAN architecture in the metadata", path.display()))?;
    if arch != model.arch {
        return Err(anyhow!(
            "{}: saved for {:?}, but the options now ask for {:?}; resume with the same options",
            path.display(),
            arch,
            model.arch
        ));
    }
    for net in Net::ALL {
        let m = model.net(net);
        let prefix = format!("{}.", net.name());
        m.load_state_dict(&state_entries(&ck, &prefix, m)?)?;
        let rng =
            state.net_rng.iter().find(|(n, _)| n == net.name()).map(|(_, r)| r.clone()).unwrap_or_default();
        m.set_rng_state(&rng)?;
    }
    load_adam(&ck, "opt_G.", &mut model.opt_g, &state.g_steps)?;
    load_adam(&ck, "opt_D.", &mut model.opt_d, &state.d_steps)?;
    for (k, (name, pool)) in
        [("pool_A", &mut model.pool_a), ("pool_B", &mut model.pool_b)].into_iter().enumerate()
    {
        let (rng, count) =
            *state.pools.get(k).ok_or_else(|| anyhow!("{}: no image pool state", path.display()))?;
        let mut images = Vec::with_capacity(count);
        for i in 0..count {
            let key = format!("{name}.{i}");
            let t = ck.get(&key).ok_or_else(|| anyhow!("{}: missing tensor '{key}'", path.display()))?;
            images.push((t.shape.clone(), t.data.clone()));
        }
        pool.load_state(&PoolState { rng, images }, device).with_context(|| format!("{}", path.display()))?;
    }
    Ok(Some(state))
}
