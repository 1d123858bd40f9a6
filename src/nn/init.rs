//! Seeded initialisation. Parameter k (in state_dict order) is drawn from Philox with
//! its own seed `derive_seed(model_seed, k)`, so the values depend only on the model
//! seed and the architecture, identically on every backend. Dropout streams get seeds
//! the same way from a separate tag.

use super::entry::{Entry, Init};
use super::module::Module;
use crate::tensor::Tensor;

/// SplitMix64's output function: a bijective 64-bit mix.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent seed for item `index` of the stream keyed by `seed`.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed) ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// Tag mixed into the model seed for dropout streams, so they never share seeds with
/// parameters.
const DROPOUT_TAG: u64 = 0x6472_6f70_6f75_7400; // "dropout"

/// Fills `t` (in place: its id stays) according to `init`, from Philox keyed by `seed`.
pub fn fill(t: &Tensor, init: Init, seed: u64) {
    let dev = t.device();
    let s = match init {
        Init::Normal { mean, std } => dev.randn(t.numel(), seed, mean, std, t.dtype()),
        Init::Zeros => dev.zeros(t.numel(), t.dtype()),
        Init::Ones => dev.full(t.numel(), 1.0, t.dtype()),
    };
    *t.storage_mut() = s;
}

/// (Re)initialises every parameter of `m` and seeds its dropout streams from `seed`.
pub fn init_parameters<M: Module + ?Sized>(m: &M, seed: u64) {
    let (mut k, mut j) = (0u64, 0u64);
    m.visit("", &mut |_, e| match e {
        Entry::Param(t, init) => {
            fill(t, init, derive_seed(seed, k));
            k += 1;
        }
        Entry::Rng(state) => {
            state.set(derive_seed(seed ^ DROPOUT_TAG, j));
            j += 1;
        }
        Entry::Buffer(_) | Entry::Counter(_) => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ() {
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|k| derive_seed(42, k)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
    }
}
