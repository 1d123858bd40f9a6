//! SASS counts of every kernel (`engine kernels --report --sass`): NVRTC's CUBIN disassembled
//! by `cuobjdump -sass` (pip `nvidia-cuda-cuobjdump`, which needs `nvidia-cuda-nvdisasm`'s
//! `nvdisasm` beside it or on PATH). No GPU needed.
//!
//! cuobjdump is found through `ENGINE_CUOBJDUMP` (the program), else `bin/cuobjdump` next to
//! the NVRTC `lib` folder (`ENGINE_NVRTC` or a `LD_LIBRARY_PATH` entry, as the pip wheels lay
//! them out), else `PATH`.

use super::compile::{self, Target};
use super::{sources, DeviceError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Instruction counts of one kernel's SASS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SassCounts {
    pub module: String,
    pub kernel: String,
    pub instructions: u32,
    /// Tensor-core matrix multiply-accumulates (mma.sync).
    pub hmma: u32,
    pub ffma: u32,
    /// 16-byte global loads (LDG.*.128, and cp.async LDGSTS.*.128) and stores.
    pub ldg128: u32,
    pub stg128: u32,
    /// Local-memory traffic (register spills, arrays indexed at run time).
    pub ldl: u32,
    pub stl: u32,
    /// Instructions of an integer-division sequence (I2F.U32.RP, MUFU.RCP) inside a loop,
    /// i.e. between a backward branch and its target.
    pub div_in_loops: u32,
}

/// The cuobjdump program, if one is found.
pub fn find_cuobjdump() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ENGINE_CUOBJDUMP") {
        return Some(PathBuf::from(p));
    }
    let mut libs: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("ENGINE_NVRTC").map(PathBuf::from) {
        libs.push(if p.is_file() { p.parent().map(Path::to_path_buf).unwrap_or_default() } else { p });
    }
    if let Some(v) = std::env::var_os("LD_LIBRARY_PATH") {
        libs.extend(std::env::split_paths(&v));
    }
    let beside = libs.iter().map(|l| l.join("../bin/cuobjdump")).find(|p| p.is_file());
    beside.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join("cuobjdump")).find(|p| p.is_file())
    })
}

/// `cuobjdump -sass` of a CUBIN image.
pub fn disassemble(cuobjdump: &Path, cubin: &[u8], name: &str) -> Result<String, DeviceError> {
    let file = std::env::temp_dir().join(format!("engine-sass-{}-{name}.cubin", std::process::id()));
    std::fs::write(&file, cubin).map_err(|e| DeviceError(format!("cannot write {}: {e}", file.display())))?;
    let mut cmd = Command::new(cuobjdump);
    cmd.arg("-sass").arg(&file);
    if let Some(dir) = cuobjdump.parent() {
        // cuobjdump runs nvdisasm, looked up on NVDISASM_PATH or PATH.
        cmd.env("NVDISASM_PATH", dir);
    }
    let out = cmd.output();
    let _ = std::fs::remove_file(&file);
    let out = out.map_err(|e| DeviceError(format!("cannot run {}: {e}", cuobjdump.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(DeviceError(format!("{} failed: {}", cuobjdump.display(), err.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `/*0c50*/   @P0 BRA 0xd20 ;` -> (0xc50, "@P0 BRA 0xd20")
fn instruction(line: &str) -> Option<(u64, &str)> {
    let rest = line.trim_start().strip_prefix("/*")?;
    let (addr, rest) = rest.split_once("*/")?;
    let addr = u64::from_str_radix(addr, 16).ok()?;
    let text = rest.split(';').next()?.trim();
    (!text.is_empty()).then_some((addr, text))
}

/// Opcode of an instruction text without its predicate: "@!P0 BRA 0x1600" -> "BRA".
fn opcode(text: &str) -> &str {
    let t = if text.starts_with('@') { text.split_once(' ').map_or("", |x| x.1) } else { text };
    t.split_whitespace().next().unwrap_or("")
}

fn count(module: &str, kernel: &str, body: &[(u64, &str)]) -> SassCounts {
    let mut c = SassCounts { module: module.into(), kernel: kernel.into(), ..Default::default() };
    let mut loops = Vec::new();
    for &(addr, text) in body {
        let op = opcode(text);
        c.instructions += 1;
        let base = op.split('.').next().unwrap_or("");
        match base {
            "HMMA" => c.hmma += 1,
            "FFMA" => c.ffma += 1,
            "LDL" => c.ldl += 1,
            "STL" => c.stl += 1,
            "LDG" | "LDGSTS" if op.ends_with(".128") => c.ldg128 += 1,
            "STG" if op.ends_with(".128") => c.stg128 += 1,
            "BRA" => {
                let target = text.rsplit("0x").next().and_then(|h| u64::from_str_radix(h.trim(), 16).ok());
                if let Some(t) = target.filter(|&t| t < addr) {
                    loops.push((t, addr));
                }
            }
            _ => {}
        }
    }
    c.div_in_loops = body
        .iter()
        .filter(|(a, t)| {
            let op = opcode(t);
            (op == "MUFU.RCP" || op.starts_with("I2F.U32.RP"))
                && loops.iter().any(|&(lo, hi)| lo <= *a && *a <= hi)
        })
        .count() as u32;
    c
}

/// Counts per kernel of one module's `cuobjdump -sass` listing.
pub fn parse_sass(text: &str, module: &str) -> Vec<SassCounts> {
    let mut out = Vec::new();
    let mut kernel: Option<String> = None;
    let mut body: Vec<(u64, &str)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.split("Function : ").nth(1) {
            if let Some(k) = kernel.take() {
                out.push(count(module, &k, &body));
            }
            kernel = Some(name.trim().to_string());
            body.clear();
        } else if kernel.is_some() {
            if let Some(i) = instruction(line) {
                body.push(i);
            }
        }
    }
    if let Some(k) = kernel {
        out.push(count(module, &k, &body));
    }
    out
}

/// Compiles every module for `arch` and counts its kernels' SASS; Ok(None) when no
/// cuobjdump is found.
pub fn sass_report(arch: &str) -> Result<Option<Vec<SassCounts>>, DeviceError> {
    let Some(tool) = find_cuobjdump() else { return Ok(None) };
    let target = compile::parse_arch(arch)?;
    let Target::Cubin(_) = target else { unreachable!() };
    let mut all = Vec::new();
    for (module, kernels) in sources::KERNELS {
        let compiled = compile::compile(module, target)?;
        let mut counts = parse_sass(&disassemble(&tool, &compiled.image, module)?, module);
        counts.sort_by_key(|r| kernels.iter().position(|k| *k == r.kernel).unwrap_or(usize::MAX));
        all.extend(counts);
    }
    Ok(Some(all))
}

pub fn format_sass(counts: &[SassCounts]) -> String {
    let mut s = format!(
        "{:<12} {:<28} {:>6} {:>5} {:>6} {:>7} {:>7} {:>4} {:>4} {:>8}\n",
        "module", "kernel", "instr", "HMMA", "FFMA", "LDG.128", "STG.128", "LDL", "STL", "div/loop"
    );
    for c in counts {
        let _ = writeln!(
            s,
            "{:<12} {:<28} {:>6} {:>5} {:>6} {:>7} {:>7} {:>4} {:>4} {:>8}",
            c.module,
            c.kernel,
            c.instructions,
            c.hmma,
            c.ffma,
            c.ldg128,
            c.stg128,
            c.ldl,
            c.stl,
            c.div_in_loops
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_listing() {
        let text = "\
        code for sm_90
\t\tFunction : k1
        /*0000*/                   MOV R1, c[0x0][0x28] ;                /* 0x0 */
        /*0010*/                   MUFU.RCP R4, R4 ;                      /* 0x0 */
        /*0020*/                   HMMA.1688.F32.TF32 R4, R8, R12, R4 ;   /* 0x0 */
        /*0030*/                   LDGSTS.E.BYPASS.128 [R2], desc[UR4][R4.64] ; /* 0x0 */
        /*0040*/                   I2F.U32.RP R5, R6 ;                    /* 0x0 */
        /*0050*/               @!P0 BRA 0x20 ;                            /* 0x0 */
        /*0060*/                   STL [R1], R2 ;                         /* 0x0 */
        /*0070*/                   BRA 0x70;                              /* 0x0 */
\t\tFunction : k2
        /*0000*/                   FFMA R1, R2, R3, R4 ;                  /* 0x0 */
        /*0010*/                   STG.E.128 desc[UR4][R2.64], R4 ;       /* 0x0 */
";
        let c = parse_sass(text, "m");
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].kernel.as_str(), c[0].hmma, c[0].ldg128, c[0].stl, c[0].instructions),
            ("k1", 1, 1, 1, 8)
        );
        // The loop is 0x20..0x50: the I2F inside counts, the MUFU before it does not.
        assert_eq!(c[0].div_in_loops, 1);
        assert_eq!((c[1].ffma, c[1].stg128, c[1].div_in_loops), (1, 1, 0));
    }
}
