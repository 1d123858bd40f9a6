//! NVRTC: compiles an embedded `kernels/<module>.cu` for a GPU, caches the result on disk,
//! and reports each kernel's registers, shared memory and spills (ptxas's `-v` log).
//!
//! NVRTC is opened at run time (cudarc, dynamic loading): put the folder holding
//! `libnvrtc.so.13` on `LD_LIBRARY_PATH`, or point `ENGINE_NVRTC` at that folder (or file).
//! `pip install nvidia-cuda-nvrtc==13.0.*` provides one at `<site>/nvidia/cu13/lib`.

use super::{sources, DeviceError};
use cudarc::nvrtc::{result as nvrtc_result, sys};
use sha2::{Digest, Sha256};
use std::ffi::{c_char, c_int, c_void, CString};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Options of every compile. IEEE arithmetic (no fast math) so results match the CPU
/// reference; `-lineinfo` lets compute-sanitizer name source lines; `-v` for the report.
pub const OPTIONS: &[&str] = &["--std=c++17", "-default-device", "-lineinfo", "--ptxas-options=-v"];

/// What NVRTC produces for a device: CUBIN for an architecture it supports, else PTX for
/// the newest architecture it supports below the device's (the driver compiles that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// SASS for sm_XY (XY = 10 * major + minor).
    Cubin(u32),
    /// PTX for compute_XY.
    Ptx(u32),
}

impl Target {
    pub fn arch_flag(&self) -> String {
        match self {
            Target::Cubin(a) => format!("sm_{a}"),
            Target::Ptx(a) => format!("compute_{a}"),
        }
    }
    fn extension(&self) -> &'static str {
        match self {
            Target::Cubin(_) => "cubin",
            Target::Ptx(_) => "ptx",
        }
    }
}

/// The result of one NVRTC compile.
pub struct Compiled {
    pub image: Vec<u8>,
    pub log: String,
    pub target: Target,
}

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
}
const RTLD_NOW: c_int = 2;
const RTLD_GLOBAL: c_int = 0x100;

/// Opens the libraries named by `ENGINE_NVRTC` (a folder or a libnvrtc file) and keeps them
/// open, so cudarc then finds NVRTC by its soname. The builtins library goes first: the pip
/// wheel's libnvrtc has no RUNPATH to find it.
fn preload_from_env() {
    let Some(hint) = std::env::var_os("ENGINE_NVRTC") else { return };
    let hint = PathBuf::from(hint);
    let dir =
        if hint.is_dir() { hint.clone() } else { hint.parent().map(Path::to_path_buf).unwrap_or_default() };
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            (n.starts_with("libnvrtc-builtins.so") || n.starts_with("libnvrtc.so")) && !n.contains(".alt.")
        })
        .collect();
    if hint.is_file() {
        libs.retain(|p| p.file_name().unwrap_or_default().to_string_lossy().starts_with("libnvrtc-builtins"));
        libs.push(hint);
    }
    libs.sort_by_key(|p| {
        !p.file_name().unwrap_or_default().to_string_lossy().starts_with("libnvrtc-builtins")
    });
    for lib in libs {
        if let Ok(c) = CString::new(lib.to_string_lossy().as_bytes()) {
            unsafe { dlopen(c.as_ptr(), RTLD_NOW | RTLD_GLOBAL) };
        }
    }
}

/// NVRTC's version, or why NVRTC cannot be used.
pub fn nvrtc_version() -> Result<(i32, i32), DeviceError> {
    static VERSION: OnceLock<Result<(i32, i32), String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            preload_from_env();
            if !unsafe { sys::is_culib_present() } {
                return Err("NVRTC not found (libnvrtc.so): `pip install nvidia-cuda-nvrtc==13.0.*` and put its lib folder \
                            (nvidia/cu13/lib) on LD_LIBRARY_PATH or in ENGINE_NVRTC"
                    .into());
            }
            let (mut major, mut minor) = (0, 0);
            unsafe { sys::nvrtcVersion(&mut major, &mut minor) }.result().map_err(|e| format!("NVRTC: nvrtcVersion failed: {e:?}"))?;
            Ok((major, minor))
        })
        .clone()
        .map_err(DeviceError)
}

/// The architectures (as XY of sm_XY) this NVRTC can produce SASS for.
pub fn supported_archs() -> Result<Vec<u32>, DeviceError> {
    nvrtc_version()?;
    let mut n: c_int = 0;
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(|e| DeviceError(format!("NVRTC: {e:?}")))?;
    let mut archs = vec![0 as c_int; n.max(0) as usize];
    unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
        .result()
        .map_err(|e| DeviceError(format!("NVRTC: {e:?}")))?;
    Ok(archs.into_iter().map(|a| a as u32).collect())
}

/// The target for a device of compute capability `major.minor`.
pub fn target_for(major: i32, minor: i32) -> Result<Target, DeviceError> {
    let want = (major * 10 + minor) as u32;
    let archs = supported_archs()?;
    if archs.contains(&want) {
        return Ok(Target::Cubin(want));
    }
    match archs.iter().copied().filter(|&a| a <= want).max() {
        Some(a) => Ok(Target::Ptx(a)),
        None => Err(DeviceError(format!(
            "NVRTC {} cannot compile for sm_{want} (it supports sm_{}..sm_{})",
            nvrtc_version().map(|(a, b)| format!("{a}.{b}")).unwrap_or_default(),
            archs.first().unwrap_or(&0),
            archs.last().unwrap_or(&0)
        ))),
    }
}

/// Parses "sm_90" (or "90") into a CUBIN target.
pub fn parse_arch(arch: &str) -> Result<Target, DeviceError> {
    arch.trim_start_matches("sm_")
        .parse::<u32>()
        .map(Target::Cubin)
        .map_err(|_| DeviceError(format!("unknown GPU architecture `{arch}` (expected e.g. sm_90)")))
}

fn log_of(prog: sys::nvrtcProgram) -> String {
    match unsafe { nvrtc_result::get_program_log(prog) } {
        Ok(raw) => {
            let bytes: Vec<u8> = raw.iter().map(|&c| c as u8).take_while(|&c| c != 0).collect();
            String::from_utf8_lossy(&bytes).trim_end().to_string()
        }
        Err(e) => format!("(no log: {e:?})"),
    }
}

/// Compiles `kernels/<module>.cu` with NVRTC, the kernel headers (`sources::HEADERS`) given by name.
pub fn compile(module: &str, target: Target) -> Result<Compiled, DeviceError> {
    let source = sources::source(module)
        .ok_or_else(|| DeviceError(format!("no kernel module `{module}` (kernels/{module}.cu)")))?;
    compile_source(&format!("kernels/{module}.cu"), source, target)
}

/// Compiles `source` (named `file` in messages) with the kernel headers given by name.
pub fn compile_source(file: &str, source: &str, target: Target) -> Result<Compiled, DeviceError> {
    nvrtc_version()?;
    let (src, name) = (CString::new(source).unwrap(), CString::new(file).unwrap());
    let texts: Vec<CString> = sources::HEADERS.iter().map(|(_, t)| CString::new(*t).unwrap()).collect();
    let names: Vec<CString> = sources::HEADERS.iter().map(|(n, _)| CString::new(*n).unwrap()).collect();
    let headers: Vec<*const c_char> = texts.iter().map(|t| t.as_ptr()).collect();
    let include_names: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let mut prog: sys::nvrtcProgram = std::ptr::null_mut();
    unsafe {
        sys::nvrtcCreateProgram(
            &mut prog,
            src.as_ptr(),
            name.as_ptr(),
            headers.len() as i32,
            headers.as_ptr(),
            include_names.as_ptr(),
        )
    }
    .result()
    .map_err(|e| DeviceError(format!("NVRTC: cannot create a program for {file}: {e:?}")))?;
    let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
    options.push(format!("--gpu-architecture={}", target.arch_flag()));
    let compiled = unsafe { nvrtc_result::compile_program(prog, &options) };
    let log = log_of(prog);
    let result = match compiled {
        Err(e) => Err(DeviceError(format!(
            "NVRTC failed to compile {file} for {} ({e:?}):\n{log}",
            target.arch_flag()
        ))),
        Ok(()) => unsafe { image_of(prog, target) }.map(|image| Compiled { image, log, target }),
    };
    unsafe {
        let _ = nvrtc_result::destroy_program(prog);
    }
    result
}

unsafe fn image_of(prog: sys::nvrtcProgram, target: Target) -> Result<Vec<u8>, DeviceError> {
    let err = |e: sys::nvrtcResult| DeviceError(format!("NVRTC: cannot read the compiled code: {e:?}"));
    match target {
        Target::Cubin(_) => {
            let mut size = 0usize;
            sys::nvrtcGetCUBINSize(prog, &mut size).result().map_err(|e| err(e.0))?;
            let mut image = vec![0u8; size];
            sys::nvrtcGetCUBIN(prog, image.as_mut_ptr() as *mut c_char).result().map_err(|e| err(e.0))?;
            Ok(image)
        }
        Target::Ptx(_) => {
            let ptx = nvrtc_result::get_ptx(prog).map_err(|e| err(e.0))?;
            Ok(ptx.iter().map(|&c| c as u8).take_while(|&c| c != 0).collect())
        }
    }
}

/// Where compiled kernels are cached: `$ENGINE_CACHE/kernels`, else
/// `$XDG_CACHE_HOME/engine/kernels`, else `~/.cache/engine/kernels`.
pub fn cache_dir() -> PathBuf {
    if let Some(root) = std::env::var_os("ENGINE_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join("kernels");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("engine").join("kernels")
}

/// The cache file of a module: keyed by its source, the headers, NVRTC's version, the
/// target and the options.
pub fn cache_path(module: &str, target: Target) -> Result<PathBuf, DeviceError> {
    let (major, minor) = nvrtc_version()?;
    let source = sources::source(module)
        .ok_or_else(|| DeviceError(format!("no kernel module `{module}` (kernels/{module}.cu)")))?;
    let mut h = Sha256::new();
    let (version, arch) = (format!("nvrtc {major}.{minor}"), target.arch_flag());
    let headers = sources::HEADERS.iter().flat_map(|(n, t)| [*n, *t]);
    for part in [module, source, version.as_str(), arch.as_str()]
        .into_iter()
        .chain(headers)
        .chain(OPTIONS.iter().copied())
    {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let hex: String = h.finalize().iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    Ok(cache_dir().join(format!("{module}-{}-{hex}.{}", target.arch_flag(), target.extension())))
}

/// The compiled module, from the disk cache when present. A cache that cannot be written
/// (read-only home) only costs a recompile next time.
pub fn compile_cached(module: &str, target: Target) -> Result<Vec<u8>, DeviceError> {
    let path = cache_path(module, target)?;
    if let Ok(image) = std::fs::read(&path) {
        if !image.is_empty() {
            return Ok(image);
        }
    }
    let compiled = compile(module, target)?;
    if std::fs::create_dir_all(cache_dir()).is_ok() {
        // Write then rename: a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &compiled.image).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(compiled.image)
}

/// Resources of one kernel as ptxas reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelReport {
    pub module: String,
    pub kernel: String,
    pub arch: String,
    pub registers: u32,
    /// Static shared memory per block, in bytes.
    pub shared_bytes: u32,
    pub stack_bytes: u32,
    pub spill_stores: u32,
    pub spill_loads: u32,
}

/// The number just before `unit` in `line` ("Used 32 registers" -> 32 for "registers").
fn number_before(line: &str, unit: &str) -> Option<u32> {
    let at = line.find(unit)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

/// Reads ptxas's `-v` report:
/// ```text
/// ptxas info    : Compiling entry function 'axpy' for 'sm_90'
/// ptxas info    : Function properties for axpy
///     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
/// ptxas info    : Used 8 registers, used 0 barriers, 4352 bytes smem, 368 bytes cmem[0]
/// ```
pub fn parse_ptxas(log: &str, module: &str, arch: &str) -> Vec<KernelReport> {
    let mut out: Vec<KernelReport> = Vec::new();
    let mut current: Option<usize> = None;
    for line in log.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            let name = rest.split('\'').next().unwrap_or_default().to_string();
            out.push(KernelReport {
                module: module.into(),
                kernel: name,
                arch: arch.into(),
                ..Default::default()
            });
            current = Some(out.len() - 1);
        } else if line.contains("Function properties for") {
            // Also printed for non-entry device functions: attribute to an entry only by name.
            let name = line.rsplit("Function properties for").next().unwrap_or_default().trim();
            current = out.iter().position(|r| r.kernel == name);
        } else if let Some(r) = current.map(|i| &mut out[i]) {
            if line.contains("stack frame") {
                r.stack_bytes = number_before(line, "bytes stack frame").unwrap_or(0);
                r.spill_stores = number_before(line, "bytes spill stores").unwrap_or(0);
                r.spill_loads = number_before(line, "bytes spill loads").unwrap_or(0);
            } else if line.contains("Used") && line.contains("registers") {
                r.registers = number_before(line, "registers").unwrap_or(0);
                r.shared_bytes = number_before(line, "bytes smem").unwrap_or(0);
            }
        }
    }
    out
}

/// Compiles every embedded module for `arch` (e.g. "sm_90") and reports each kernel.
pub fn compile_report(arch: &str) -> Result<Vec<KernelReport>, DeviceError> {
    let target = parse_arch(arch)?;
    let Target::Cubin(a) = target else { unreachable!() };
    if !supported_archs()?.contains(&a) {
        return Err(DeviceError(format!("this NVRTC cannot compile for {arch}")));
    }
    let mut all = Vec::new();
    for (module, kernels) in sources::KERNELS {
        let compiled = compile(module, target)?;
        let mut reports = parse_ptxas(&compiled.log, module, &target.arch_flag());
        // File order, as the kernels are listed in the source.
        reports.sort_by_key(|r| kernels.iter().position(|k| *k == r.kernel).unwrap_or(usize::MAX));
        all.extend(reports);
    }
    Ok(all)
}

/// The report as a table, one kernel per line.
pub fn format_report(reports: &[KernelReport]) -> String {
    let mut s = format!(
        "{:<12} {:<28} {:<7} {:>5} {:>9} {:>7} {:>12}\n",
        "module", "kernel", "arch", "regs", "smem (B)", "stack", "spills (st/ld)"
    );
    for r in reports {
        let _ = writeln!(
            s,
            "{:<12} {:<28} {:<7} {:>5} {:>9} {:>7} {:>7}/{}",
            r.module,
            r.kernel,
            r.arch,
            r.registers,
            r.shared_bytes,
            r.stack_bytes,
            r.spill_stores,
            r.spill_loads
        );
    }
    s
}

/// `engine kernels --report`: the NVRTC version, the options and ptxas's resource report of
/// every kernel for `arch`, as text (the CLI prints it).
pub fn report_text(arch: &str) -> Result<String, DeviceError> {
    let (major, minor) = nvrtc_version()?;
    let reports = compile_report(arch)?;
    Ok(format!("NVRTC {major}.{minor}, {arch}, options: {}\n{}", OPTIONS.join(" "), format_report(&reports)))
}
