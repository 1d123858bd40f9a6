//! The emulator runtime (`--device emu`): `kernels/*.cu` compiled by the host C++ compiler
//! (build.rs) and run on the CPU with the CUDA execution model (kernels/emu/runtime.cpp).
//!
//! Memory is host memory. Every buffer sits between two guard zones filled with a NaN
//! pattern; after each launch the guards of all live buffers are checked and a modified one
//! is an error naming the kernel and the buffer. New buffers are filled with NaN, so reading
//! an element nobody wrote shows up in the result.
//!
//! Launches are serialised (one "stream"); the blocks of a launch run in parallel on rayon's
//! threads. The order of the threads of a block between barriers is drawn from a seed mixed
//! from `ENGINE_EMU_SEED` (default fixed) and the launch (kernel name, shape), so a run is
//! reproducible and a different seed explores other orders.

use super::{validate_launch, DevBuf, DeviceError, DevicePool, Runtime};
use crate::backend::DeviceKind;
use rayon::prelude::*;
use std::alloc::{alloc, dealloc, Layout};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes of guard zone on each side of a buffer.
const GUARD: usize = 1024;
/// The guard pattern, as 32-bit words: a quiet NaN with a recognisable payload (the same
/// word the C++ runtime uses around shared memory), so an out-of-bounds read gives NaN.
const GUARD_WORD: u32 = 0x7fc0_dead;
const ALIGN: usize = 64;

#[repr(C)]
struct KernelEntry {
    name: *const c_char,
    run: *const c_void,
    nparams: c_int,
}

extern "C" {
    fn engine_emu_find(module: *const c_char, kernel: *const c_char) -> *const KernelEntry;
    fn engine_emu_run(
        kernel: *const KernelEntry,
        args: *mut *mut c_void,
        grid: *const u32,
        block: *const u32,
        shared_bytes: u32,
        seed: u64,
        first: u64,
        count: u64,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int;
}

/// The process-wide emulator (its memory and launch lock are shared by every user).
pub fn emu_runtime() -> Arc<dyn Runtime> {
    static EMU: OnceLock<Arc<EmuRuntime>> = OnceLock::new();
    EMU.get_or_init(|| Arc::new(EmuRuntime::new())).clone()
}

pub struct EmuRuntime {
    mem: Arc<EmuMemory>,
    /// Launches run one at a time, like kernels on one CUDA stream; it also keeps the guard
    /// check of one launch from blaming another launch running at the same time.
    launch_lock: Mutex<()>,
    seed: u64,
}

/// A live buffer: where its allocation starts and how long it is.
struct Block {
    id: u64,
    len: usize,
    base: usize,
}

#[derive(Default)]
struct EmuMemory {
    live: Mutex<BTreeMap<u64, Block>>,
    next_id: AtomicU64,
    /// (bytes in live buffers, the most since the last `take_peak_bytes`).
    usage: Mutex<(usize, usize)>,
}

fn layout(len: usize) -> Layout {
    Layout::from_size_align(GUARD * 2 + len * 4, ALIGN).expect("emulator: buffer too large")
}

fn fill_guard(p: *mut u8) {
    let words = unsafe { std::slice::from_raw_parts_mut(p as *mut u32, GUARD / 4) };
    words.fill(GUARD_WORD);
}

/// Offset of the first modified byte of a guard zone, if any.
fn guard_damage(p: *const u8) -> Option<usize> {
    let words = unsafe { std::slice::from_raw_parts(p as *const u32, GUARD / 4) };
    words.iter().position(|&w| w != GUARD_WORD).map(|i| {
        let bytes = words[i].to_ne_bytes();
        let good = GUARD_WORD.to_ne_bytes();
        i * 4 + (0..4).find(|&b| bytes[b] != good[b]).unwrap_or(0)
    })
}

impl DevicePool for EmuMemory {
    fn free(&self, ptr: u64, len: usize) {
        let block = self.live.lock().unwrap().remove(&ptr);
        let b = block.unwrap_or_else(|| panic!("emulator: free of an unknown buffer at {ptr:#x}"));
        assert_eq!(b.len, len, "emulator: buffer at {ptr:#x} freed with a different length");
        self.usage.lock().unwrap().0 -= len * 4;
        unsafe { dealloc(b.base as *mut u8, layout(len)) };
    }
}

impl EmuMemory {
    /// Checks (and repairs) the guards of every live buffer; describes the first damage.
    fn check_guards(&self) -> Option<String> {
        let live = self.live.lock().unwrap();
        let mut report = None;
        for (&ptr, b) in live.iter() {
            let front = b.base as *mut u8;
            let back = unsafe { front.add(GUARD + b.len * 4) };
            let damage = match (guard_damage(front), guard_damage(back)) {
                (Some(off), _) => Some(format!("{} byte(s) before its start", GUARD - off)),
                (None, Some(off)) => Some(format!("{} byte(s) after its end", off + 1)),
                (None, None) => None,
            };
            if let Some(d) = damage {
                fill_guard(front);
                fill_guard(back);
                report.get_or_insert(format!("buffer #{} ({} f32 at {ptr:#x}), modified {d}", b.id, b.len));
            }
        }
        report
    }
}

/// Raw pointers handed to the rayon workers; kernels only read the argument array.
#[derive(Clone, Copy)]
struct LaunchPtrs {
    entry: *const KernelEntry,
    args: *mut *mut c_void,
}
unsafe impl Send for LaunchPtrs {}
unsafe impl Sync for LaunchPtrs {}

fn mix(mut h: u64, v: u64) -> u64 {
    h ^= v.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6).wrapping_add(h >> 2);
    h.wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

impl Default for EmuRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl EmuRuntime {
    pub fn new() -> Self {
        let seed = std::env::var("ENGINE_EMU_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
        EmuRuntime { mem: Arc::new(EmuMemory::default()), launch_lock: Mutex::new(()), seed }
    }

    /// Number of live buffers (for leak checks in tests).
    pub fn live_buffers(&self) -> usize {
        self.mem.live.lock().unwrap().len()
    }
}

impl Runtime for EmuRuntime {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Emu
    }

    fn alloc(&self, len: usize) -> DevBuf {
        let base = unsafe { alloc(layout(len)) };
        assert!(!base.is_null(), "emulator: out of host memory allocating {len} f32");
        let data = unsafe { base.add(GUARD) };
        fill_guard(base);
        fill_guard(unsafe { data.add(len * 4) });
        unsafe { std::slice::from_raw_parts_mut(data as *mut f32, len) }.fill(f32::NAN);
        let id = self.mem.next_id.fetch_add(1, Ordering::Relaxed);
        let ptr = data as u64;
        self.mem.live.lock().unwrap().insert(ptr, Block { id, len, base: base as usize });
        let mut usage = self.mem.usage.lock().unwrap();
        usage.0 += len * 4;
        usage.1 = usage.1.max(usage.0);
        // SAFETY: ptr is the data area of the allocation just made, registered with this pool.
        unsafe { DevBuf::from_raw(ptr, len, self.mem.clone()) }
    }

    fn htod(&self, dst: &DevBuf, src: &[f32]) {
        assert!(src.len() <= dst.len(), "htod: {} values into a buffer of {}", src.len(), dst.len());
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.ptr() as *mut f32, src.len()) };
    }

    fn dtoh(&self, src: &DevBuf) -> Vec<f32> {
        unsafe { std::slice::from_raw_parts(src.ptr() as *const f32, src.len()) }.to_vec()
    }

    fn dtod(&self, dst: &DevBuf, dst_off: usize, src: &DevBuf, src_off: usize, len: usize) {
        assert!(src_off + len <= src.len() && dst_off + len <= dst.len(), "dtod: range out of bounds");
        // `copy` (memmove): src and dst may be the same buffer.
        unsafe {
            std::ptr::copy((src.ptr() as *const f32).add(src_off), (dst.ptr() as *mut f32).add(dst_off), len)
        };
    }

    unsafe fn launch(
        &self,
        module: &str,
        kernel: &str,
        grid: [u32; 3],
        block: [u32; 3],
        shared_bytes: u32,
        args: &mut [*mut c_void],
    ) -> Result<(), DeviceError> {
        validate_launch(module, kernel, grid, block, shared_bytes)?;
        let (m, k) = (CString::new(module).unwrap(), CString::new(kernel).unwrap());
        let entry = engine_emu_find(m.as_ptr(), k.as_ptr());
        if entry.is_null() {
            let known = super::sources::KERNELS.iter().any(|(name, _)| *name == module);
            return Err(DeviceError(if known {
                format!("emu: no kernel `{kernel}` in kernels/{module}.cu")
            } else {
                format!("emu: no kernel module `{module}` (kernels/{module}.cu)")
            }));
        }
        let nparams = (*entry).nparams as usize;
        if nparams != args.len() {
            return Err(DeviceError(format!(
                "emu: {module}/{kernel} takes {nparams} parameters, the launch passed {}",
                args.len()
            )));
        }

        let _serial = self.launch_lock.lock().unwrap_or_else(|e| e.into_inner());
        let nblocks = grid.iter().map(|&g| g as u64).product::<u64>();
        let mut seed = mix(self.seed, grid[0] as u64 | (grid[1] as u64) << 32);
        seed = mix(seed, grid[2] as u64 | (block[0] as u64) << 32);
        seed = mix(seed, block[1] as u64 | (block[2] as u64) << 32 | (shared_bytes as u64) << 48);
        for byte in module.bytes().chain([b'/']).chain(kernel.bytes()) {
            seed = mix(seed, byte as u64);
        }
        let ptrs = LaunchPtrs { entry, args: args.as_mut_ptr() };
        let run = |first: u64, count: u64| -> Result<(), String> {
            let p = ptrs;
            let mut err = [0 as c_char; 512];
            let rc = engine_emu_run(
                p.entry,
                p.args,
                grid.as_ptr(),
                block.as_ptr(),
                shared_bytes,
                seed,
                first,
                count,
                err.as_mut_ptr(),
                err.len(),
            );
            if rc == 0 {
                Ok(())
            } else {
                Err(CStr::from_ptr(err.as_ptr()).to_string_lossy().into_owned())
            }
        };
        let workers = rayon::current_num_threads() as u64;
        let result = if nblocks == 1 || workers == 1 {
            run(0, nblocks)
        } else {
            // A few chunks per worker balances uneven blocks without paying per block.
            let chunk = nblocks.div_ceil(workers * 4).max(1);
            (0..nblocks.div_ceil(chunk))
                .into_par_iter()
                .try_for_each(|c| run(c * chunk, chunk.min(nblocks - c * chunk)))
        };
        let guards = self.mem.check_guards();
        if let Err(e) = result {
            return Err(DeviceError(format!("emu: kernel {module}/{kernel}: {e}")));
        }
        if let Some(g) = guards {
            return Err(DeviceError(format!(
                "emu: kernel {module}/{kernel} wrote outside a device buffer: {g}"
            )));
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn take_peak_bytes(&self) -> Option<usize> {
        let mut usage = self.mem.usage.lock().unwrap();
        let now = usage.0;
        Some(std::mem::replace(&mut usage.1, now))
    }
}
