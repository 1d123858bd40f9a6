//! The element trait the CPU kernels are generic over (f32 and f64), and the small
//! helpers every family shares: typed views of `Storage`, length checks, parallel maps.

use std::fmt::Debug;
use std::iter::Sum;

use num_traits::{Float, FromPrimitive, ToPrimitive};
use rayon::prelude::*;

use crate::backend::{DType, Storage};

/// Below this many elements the work runs on the calling thread: rayon's fork/join costs
/// more than it saves.
pub const PAR_MIN: usize = 1 << 15;

/// A float the CPU backend computes in. `'static` because `gemm` dispatches on `TypeId`.
pub trait Elem: Float + FromPrimitive + Send + Sync + Default + Debug + Sum + 'static {
    const DTYPE: DType;
    fn view<'a>(s: &'a Storage, op: &str) -> &'a [Self];
    fn view_mut<'a>(s: &'a mut Storage, op: &str) -> &'a mut [Self];
    fn wrap(v: Vec<Self>) -> Storage;

    /// Lossless for f32 and f64.
    #[inline]
    fn as_f64(self) -> f64 {
        ToPrimitive::to_f64(&self).unwrap()
    }
    #[inline]
    fn of(v: f64) -> Self {
        <Self as FromPrimitive>::from_f64(v).unwrap()
    }
}

macro_rules! impl_elem {
    ($t:ty, $variant:ident, $other:ident, $dt:expr) => {
        impl Elem for $t {
            const DTYPE: DType = $dt;
            fn view<'a>(s: &'a Storage, op: &str) -> &'a [Self] {
                match s {
                    Storage::$variant(v) => v,
                    Storage::$other(_) => panic!("{op}: expected {} storage, got {}", $dt, s.dtype()),
                    Storage::Device(_) => device_panic(op),
                }
            }
            fn view_mut<'a>(s: &'a mut Storage, op: &str) -> &'a mut [Self] {
                match s {
                    Storage::$variant(v) => v,
                    Storage::$other(_) => panic!("{op}: expected {} storage, got {}", $dt, s.dtype()),
                    Storage::Device(_) => device_panic(op),
                }
            }
            fn wrap(v: Vec<Self>) -> Storage {
                Storage::$variant(v)
            }
        }
    };
}
impl_elem!(f32, F32, F64, DType::F32);
impl_elem!(f64, F64, F32, DType::F64);

fn device_panic(op: &str) -> ! {
    panic!("{op}: device storage given to the CPU backend (copy it to the host first)")
}

/// The dtype of a host storage; panics on device storage.
pub fn host_dtype(s: &Storage, op: &str) -> DType {
    match s {
        Storage::F32(_) => DType::F32,
        Storage::F64(_) => DType::F64,
        Storage::Device(_) => device_panic(op),
    }
}

/// Panics naming the op and both lengths when they differ.
#[track_caller]
pub fn same_len(op: &str, a_name: &str, a: usize, b_name: &str, b: usize) {
    assert!(a == b, "{op}: length mismatch: {a_name} has {a} elements, {b_name} has {b}");
}

/// The single value of a one-element storage (loss gradients, scales).
#[track_caller]
pub fn scalar<T: Elem>(s: &[T], op: &str) -> T {
    assert!(s.len() == 1, "{op}: expected a one-element scalar storage, got {} elements", s.len());
    s[0]
}

/// y[i] = f(x[i]), in parallel for large inputs.
pub fn map<T: Elem>(x: &[T], f: impl Fn(T) -> T + Sync + Send) -> Vec<T> {
    if x.len() < PAR_MIN {
        x.iter().map(|&v| f(v)).collect()
    } else {
        x.par_iter().with_min_len(4096).map(|&v| f(v)).collect()
    }
}

/// y[i] = f(a[i], b[i]); lengths must already agree.
pub fn zip_map<T: Elem>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync + Send) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    if a.len() < PAR_MIN {
        a.iter().zip(b).map(|(&u, &v)| f(u, v)).collect()
    } else {
        a.par_iter().zip(b.par_iter()).with_min_len(4096).map(|(&u, &v)| f(u, v)).collect()
    }
}

/// y[i] = f(i) for i in 0..len (random generation).
pub fn from_index<T: Elem>(len: usize, f: impl Fn(u64) -> T + Sync + Send) -> Vec<T> {
    if len < PAR_MIN / 8 {
        (0..len as u64).map(f).collect()
    } else {
        (0..len).into_par_iter().with_min_len(1024).map(|i| f(i as u64)).collect()
    }
}

/// Sum in f64, in parallel for large inputs (the reference keeps full precision).
pub fn sum_f64<T: Elem>(x: &[T]) -> f64 {
    if x.len() < PAR_MIN {
        x.iter().map(|v| v.as_f64()).sum()
    } else {
        x.par_chunks(8192).map(|c| c.iter().map(|v| v.as_f64()).sum::<f64>()).sum()
    }
}

/// f(r) for each of `rows` independent rows; `work` (elements touched) decides whether
/// to fan out over threads.
pub fn per_row<R: Send>(rows: usize, work: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if work < PAR_MIN {
        (0..rows).map(f).collect()
    } else {
        (0..rows).into_par_iter().map(f).collect()
    }
}

/// f(r, row) for each row of length `hw` of y, in parallel for large y.
pub fn for_rows_mut<T: Elem>(y: &mut [T], hw: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if hw == 0 {
        return;
    }
    if y.len() < PAR_MIN {
        y.chunks_mut(hw).enumerate().for_each(|(r, row)| f(r, row));
    } else {
        y.par_chunks_mut(hw).enumerate().for_each(|(r, row)| f(r, row));
    }
}
