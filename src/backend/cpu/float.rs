//! `Elem`, the float trait the CPU kernels are generic over (f32 and f64), and the small
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

/// Buffers of at least this many bytes are backed by transparent huge pages.
const HUGE_MIN: usize = 4 << 20;

/// Asks the kernel for 2 MiB pages. On the VMs this runs on a 4 KiB page fault costs
/// ~3 us, so first-touching a fresh 32 MiB buffer took ~25 ms with small pages and ~3 ms
/// with huge ones; every large output of the backend is a fresh buffer.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
    }
    const MADV_HUGEPAGE: i32 = 14;
    const HUGE: usize = 2 << 20;
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + bytes) & !(HUGE - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation we own; the advice only changes how
        // its pages are backed, never their contents. Failure is harmless (small pages).
        unsafe { madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _bytes: usize) {}

/// A zero-filled vector; large ones on huge pages (see `advise_huge_pages`).
pub fn zeroed<T: Elem>(len: usize) -> Vec<T> {
    let bytes = len * std::mem::size_of::<T>();
    if bytes < HUGE_MIN {
        return vec![T::zero(); len];
    }
    let mut v: Vec<T> = Vec::with_capacity(len);
    advise_huge_pages(v.as_mut_ptr() as *mut u8, bytes);
    v.resize(len, T::zero());
    v
}

/// A copy of x, allocated like `zeroed`.
pub fn copied<T: Elem>(x: &[T]) -> Vec<T> {
    let mut v = zeroed(x.len());
    v.copy_from_slice(x);
    v
}

/// y[i] = f(x[i]), in parallel for large inputs.
pub fn map<T: Elem>(x: &[T], f: impl Fn(T) -> T + Sync + Send) -> Vec<T> {
    let mut y = zeroed(x.len());
    if x.len() < PAR_MIN {
        y.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
    } else {
        y.par_iter_mut().zip(x.par_iter()).with_min_len(4096).for_each(|(o, &v)| *o = f(v));
    }
    y
}

/// y[i] = f(a[i], b[i]); lengths must already agree.
pub fn zip_map<T: Elem>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync + Send) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    let mut y = zeroed(a.len());
    if a.len() < PAR_MIN {
        y.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&u, &v))| *o = f(u, v));
    } else {
        y.par_iter_mut()
            .zip(a.par_iter().zip(b.par_iter()))
            .with_min_len(4096)
            .for_each(|(o, (&u, &v))| *o = f(u, v));
    }
    y
}

/// y[i] = f(i) for i in 0..len (random generation).
pub fn from_index<T: Elem>(len: usize, f: impl Fn(u64) -> T + Sync + Send) -> Vec<T> {
    let mut y = zeroed(len);
    if len < PAR_MIN / 8 {
        y.iter_mut().enumerate().for_each(|(i, o)| *o = f(i as u64));
    } else {
        y.par_iter_mut().enumerate().with_min_len(1024).for_each(|(i, o)| *o = f(i as u64));
    }
    y
}

/// Sum of f(x[i]) in f64 over eight independent lanes: a single running sum is bound by
/// the latency of one add per element; eight lanes let the compiler vectorise.
#[inline]
pub fn sum_lanes<T: Elem>(x: &[T], f: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f64>() + rest
}

/// Sum in f64, in parallel for large inputs (the reference keeps full precision).
pub fn sum_f64<T: Elem>(x: &[T]) -> f64 {
    if x.len() < PAR_MIN {
        sum_lanes(x, |v| v.as_f64())
    } else {
        x.par_chunks(8192).map(|c| sum_lanes(c, |v| v.as_f64())).sum()
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
