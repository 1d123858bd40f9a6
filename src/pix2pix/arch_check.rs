//! The architecture a checkpoint's metadata names is checked before a model is built from
//! it: sane bounds on every field, then the number of values the model would hold against
//! what the file holds (metadata saying `ngf: 1000000` would otherwise ask for petabytes).
//!
//! A generator's state (weights, biases, norm buffers) is a polynomial of degree 2 in
//! `ngf` for fixed other fields, so it is measured exactly from the models built with
//! ngf 1, 2 and 3 (a few thousand values) and extrapolated.

use super::model::Arch;
use crate::io::checkpoint::Checkpoint;
use crate::nn::{Module, NetG};
use crate::tensor::Device;
use anyhow::Result;

/// Largest `ngf` / `ndf` any metadata may name.
pub const MAX_FILTERS: usize = 1 << 12;
/// Most image channels.
pub const MAX_CHANNELS: usize = 64;
/// Deepest U-Net (unet_16384).
pub const MAX_DOWNS: usize = 14;

/// Checks `arch` (read from the metadata of `ck`) before a generator is built from it.
pub fn check_generator_arch(arch: &Arch, ck: &Checkpoint) -> Result<()> {
    let file = ck.path.display();
    let bad = |what: String| anyhow::anyhow!("{file}: the architecture in its metadata {what}");
    if !(1..=MAX_FILTERS).contains(&arch.ngf) {
        return Err(bad(format!("has ngf {}, outside 1..={MAX_FILTERS}", arch.ngf)));
    }
    for (what, nc) in [("input_nc", arch.input_nc), ("output_nc", arch.output_nc)] {
        if !(1..=MAX_CHANNELS).contains(&nc) {
            return Err(bad(format!("has {what} {nc}, outside 1..={MAX_CHANNELS}")));
        }
    }
    match NetG::parse(&arch.netg) {
        Err(e) => return Err(bad(format!("names no known generator: {e}"))),
        Ok(NetG::Unet { num_downs } | NetG::EncoderDecoder { num_downs }) if num_downs > MAX_DOWNS => {
            return Err(bad(format!("names {}, deeper than unet_{}", arch.netg, 1usize << MAX_DOWNS)));
        }
        Ok(_) => {}
    }
    let needed = generator_values(arch)?;
    let held: u128 = ck.tensors.iter().map(|t| t.shape.iter().map(|&d| d as u128).product::<u128>()).sum();
    if needed > held {
        return Err(bad(format!(
            "({} ngf {}) needs {needed} values, but the file holds {held}: the metadata does not match its tensors",
            arch.netg, arch.ngf
        )));
    }
    Ok(())
}

/// Values in the state of the generator `arch` describes, computed without building it.
fn generator_values(arch: &Arch) -> Result<u128> {
    let cpu = Device::cpu();
    let mut p = [0i128; 3];
    for (i, ngf) in (1..=3).enumerate() {
        let small = Arch { ngf, ..arch.clone() };
        let g = small.generator(0, &cpu)?;
        p[i] = g.state_dict().iter().map(|e| e.shape.iter().product::<usize>() as i128).sum();
    }
    // The quadratic through (1, p0), (2, p1), (3, p2), evaluated at ngf.
    let (a2, b) = (p[2] - 2 * p[1] + p[0], p[1] - p[0]);
    let n = arch.ngf as i128 - 1;
    let v = p[0] + n * b + n * (n - 1) / 2 * a2;
    Ok(v.max(0) as u128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Norm;

    #[test]
    fn extrapolated_size_is_exact() {
        for netg in ["unet_32", "resnet_6blocks"] {
            for norm in [Norm::Batch, Norm::Instance] {
                let arch = Arch {
                    input_nc: 3,
                    output_nc: 1,
                    netg: netg.into(),
                    ngf: 7,
                    netd: "basic".into(),
                    n_layers_d: 3,
                    ndf: 8,
                    norm,
                    dropout: true,
                    objective: Default::default(),
                };
                let g = arch.generator(0, &Device::cpu()).unwrap();
                let real: usize = g.state_dict().iter().map(|e| e.shape.iter().product::<usize>()).sum();
                assert_eq!(generator_values(&arch).unwrap(), real as u128, "{netg} {norm:?}");
            }
        }
    }
}
