//! Build step for the kernels (no CUDA toolkit needed):
//! - embeds `kernels/*.cu` and the headers `kernels/*.cuh` as strings for NVRTC
//!   (`$OUT_DIR/kernels.rs`);
//! - turns the table `kernels/constants.txt` into the Rust module `$OUT_DIR/consts.rs` and the
//!   header `$OUT_DIR/constants.cuh`, so op codes and tile sizes have one source;
//! - compiles the same files with the host C++ compiler into the emulator (`--device emu`):
//!   each file becomes its own translation unit, wrapped in a namespace, with `extern "C"`
//!   removed from its entry points (so names only need to be unique within a file) and each
//!   `__shared__` declaration turned into a reference to per-block shared memory; a generated
//!   registry maps (module, kernel) to a launcher that unpacks `void**` arguments.
//!
//! Environment: `ENGINE_EMU_UCONTEXT=1` uses ucontext instead of the hand-written x86-64
//! context switch; `ENGINE_EMU_ASAN=1` builds the emulator with AddressSanitizer.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let kdir = root.join("kernels");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-env-changed=ENGINE_EMU_UCONTEXT");
    println!("cargo:rerun-if-env-changed=ENGINE_EMU_ASAN");

    let mut files: Vec<PathBuf> = fs::read_dir(&kdir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", kdir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    files.sort();

    let mut modules = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            panic!("{}: a kernel module name must be a C identifier", path.display());
        }
        let src = fs::read_to_string(path).unwrap();
        let scanned = scan(&src).unwrap_or_else(|(line, msg)| panic!("{}:{line}: {msg}", path.display()));
        let tu = translation_unit(&name, path, &scanned);
        let tu_path = out.join(format!("emu_{name}.cpp"));
        write_if_changed(&tu_path, &tu);
        modules.push((name, path.clone(), scanned.kernels, tu_path));
    }

    let consts = read_constants(&kdir.join("constants.txt"));
    write_if_changed(&out.join("consts.rs"), &consts_rust(&consts));
    write_if_changed(&out.join("constants.cuh"), &consts_cuh(&consts));
    write_if_changed(&out.join("emu_registry.cpp"), &registry(&modules));
    write_if_changed(&out.join("kernels.rs"), &rust_table(&kdir, &out, &modules));

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .warnings(false)
        .flag_if_supported("-Wall")
        .flag_if_supported("-Wno-unused-function")
        .flag_if_supported("-Wno-unused-variable")
        // Kernels reinterpret buffers (float* as int* for atomics), as CUDA code does.
        .flag("-fno-strict-aliasing")
        // Plain IEEE arithmetic, the same on every host.
        .flag_if_supported("-ffp-contract=off")
        .include(&kdir)
        .include(&out)
        .file(kdir.join("emu/runtime.cpp"))
        .file(out.join("emu_registry.cpp"));
    for m in &modules {
        build.file(&m.3);
    }
    if std::env::var("ENGINE_EMU_UCONTEXT").is_ok_and(|v| v == "1") {
        build.define("EMU_UCONTEXT", None);
    }
    if std::env::var("ENGINE_EMU_ASAN").is_ok_and(|v| v == "1") {
        // ASan understands ucontext fibers; it needs its runtime first in the link.
        build.define("EMU_UCONTEXT", None).flag("-fsanitize=address").flag("-fno-omit-frame-pointer");
        // rustc links with -nodefaultlibs, so name the runtime; run the binaries with
        // ASAN_OPTIONS=verify_asan_link_order=0 (or LD_PRELOAD=libasan.so).
        println!("cargo:rustc-link-lib=dylib=asan");
    }
    println!("cargo:rerun-if-changed=kernels/emu/emu.h");
    println!("cargo:rerun-if-changed=kernels/emu/runtime.cpp");
    build.compile("engine_emu");
}

/// What the emulator needs from a kernel file.
struct Scanned {
    /// Entry points, in file order.
    kernels: Vec<String>,
    /// The source with `extern "C"` blanked out and `__shared__` declarations rewritten;
    /// same number of lines, so `#line 1` keeps compiler messages pointing at the file.
    text: String,
}

/// Scans a kernel file: skips comments, strings and preprocessor lines, tracks braces.
fn scan(src: &str) -> Result<Scanned, (usize, String)> {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 1024);
    let mut kernels = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    let mut slot = 0usize;
    let mut line_start = true;
    let line_of = |pos: usize| src[..pos].matches('\n').count() + 1;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            out.push('\n');
            i += 1;
            line_start = true;
            continue;
        }
        if line_start && c == b'#' {
            // A preprocessor directive, with its continuation lines.
            let start = i;
            while i < b.len() && !(b[i] == b'\n' && b[i - 1] != b'\\') {
                i += 1;
            }
            if src[start..i].contains("__shared__") {
                return Err((
                    line_of(start),
                    "__shared__ inside a preprocessor directive is not supported by the emulator".into(),
                ));
            }
            out.push_str(&src[start..i]);
            continue;
        }
        if !c.is_ascii_whitespace() {
            line_start = false;
        }
        if src[i..].starts_with("//") {
            let end = src[i..].find('\n').map_or(b.len(), |e| i + e);
            out.push_str(&src[i..end]);
            i = end;
            continue;
        }
        if src[i..].starts_with("/*") {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            out.push_str(&src[i..end]);
            i = end;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            if c == b'"' && &src[start..i] == "\"C\"" && out.trim_end().ends_with("extern") {
                // `extern "C"` before an entry point: drop it, keep the columns.
                let keep = out.trim_end().len() - "extern".len();
                let tail = out.split_off(keep);
                out.extend(tail.chars().map(|c| if c == '\n' { c } else { ' ' }));
                out.push_str("   ");
                let rest = &src[i..];
                let after = rest.trim_start();
                if !after.starts_with("__global__") {
                    return Err((
                        line_of(start),
                        "`extern \"C\"` must be followed by `__global__` in a kernel file".into(),
                    ));
                }
                kernels.push(kernel_name(after).ok_or_else(|| {
                    (line_of(start), "cannot read the kernel name after `__global__ void`".to_string())
                })?);
                continue;
            }
            out.push_str(&src[start..i]);
            continue;
        }
        if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
        }
        if is_ident_start(c) {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            let word = &src[start..i];
            if word != "__shared__" {
                out.push_str(word);
                continue;
            }
            let line = line_of(start);
            if out.trim_end().ends_with("extern") {
                return Err((
                    line,
                    "`extern __shared__` is not supported: use DYN_SHARED(type, name)".into(),
                ));
            }
            if depth == 0 {
                return Err((
                    line,
                    "file-scope __shared__ is not supported by the emulator: declare it inside the kernel"
                        .into(),
                ));
            }
            let end = src[i..]
                .find(';')
                .map(|e| i + e)
                .ok_or((line, "unterminated __shared__ declaration".to_string()))?;
            let decl = &src[i..end];
            let (ty, name, dims) = split_declaration(decl).map_err(|m| (line, m))?;
            write!(out, "auto& {name} = *::emu::shared_var_of<{ty} {dims}>({slot}u);").unwrap();
            slot += 1;
            out.push_str(&"\n".repeat(decl.matches('\n').count()));
            i = end + 1;
            continue;
        }
        out.push(c as char);
        i += 1;
    }
    Ok(Scanned { kernels, text: out })
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}
fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `__global__ void [__launch_bounds__(..)] name(` -> name
fn kernel_name(s: &str) -> Option<String> {
    let s = s.strip_prefix("__global__")?.trim_start();
    let s = s.strip_prefix("void")?.trim_start();
    let s = match s.strip_prefix("__launch_bounds__") {
        Some(r) => &r[r.find(')')? + 1..],
        None => s,
    }
    .trim_start();
    let n = s.bytes().take_while(|&c| is_ident(c)).count();
    let rest = s[n..].trim_start();
    (n > 0 && rest.starts_with('(')).then(|| s[..n].to_string())
}

/// ` float tile[16][17]` -> ("float", "tile", "[16][17]")
fn split_declaration(decl: &str) -> Result<(String, String, String), String> {
    let d = decl.trim();
    if d.contains('=') {
        return Err("a __shared__ variable cannot have an initialiser".into());
    }
    let cut = d.find('[').unwrap_or(d.len());
    let head = d[..cut].trim_end();
    if head.contains(',') || d[cut..].contains(',') {
        return Err("declare one __shared__ variable per declaration".into());
    }
    let n = head.bytes().rev().take_while(|&c| is_ident(c)).count();
    let (ty, name) = head.split_at(head.len() - n);
    if name.is_empty() || ty.trim().is_empty() {
        return Err(format!("cannot read the __shared__ declaration `{d}`"));
    }
    // The arena aligns every variable to 16 bytes (or more for wider types) anyway.
    let ty = strip_align(ty);
    Ok((ty.trim().to_string(), name.to_string(), d[cut..].trim().to_string()))
}

/// Removes `__align__(N)` from a type: it cannot appear in a template argument.
fn strip_align(ty: &str) -> String {
    let mut t = ty.to_string();
    while let Some(at) = t.find("__align__") {
        let end = t[at..].find(')').map_or(t.len(), |e| at + e + 1);
        t.replace_range(at..end, "");
    }
    t
}

fn translation_unit(name: &str, path: &Path, s: &Scanned) -> String {
    let mut t = String::new();
    writeln!(t, "// Generated by build.rs from {} for the emulator.", path.display()).unwrap();
    writeln!(t, "#include \"emu/emu.h\"\nnamespace emu_mod_{name} {{\n#line 1 \"{}\"", path.display())
        .unwrap();
    t.push_str(&s.text);
    writeln!(t, "\n}}  // namespace emu_mod_{name}").unwrap();
    writeln!(t, "extern \"C\" const emu::KernelEntry engine_emu_table_{name}[] = {{").unwrap();
    for k in &s.kernels {
        writeln!(
            t,
            "    {{\"{k}\", [](void** a) {{ ::emu::invoke(&emu_mod_{name}::{k}, a); }}, ::emu::param_count(&emu_mod_{name}::{k})}},"
        )
        .unwrap();
    }
    if s.kernels.is_empty() {
        writeln!(t, "    {{nullptr, nullptr, 0}},").unwrap();
    }
    writeln!(t, "}};").unwrap();
    t
}

type Module = (String, PathBuf, Vec<String>, PathBuf);

fn registry(modules: &[Module]) -> String {
    let mut t = String::from("// Generated by build.rs: every kernel module of kernels/*.cu.\n#include \"emu/emu.h\"\nextern \"C\" {\n");
    for (name, ..) in modules {
        writeln!(t, "extern const emu::KernelEntry engine_emu_table_{name}[];").unwrap();
    }
    t.push_str("extern const emu::ModuleEntry engine_emu_modules[] = {\n");
    for (name, _, kernels, _) in modules {
        writeln!(t, "    {{\"{name}\", engine_emu_table_{name}, {}}},", kernels.len()).unwrap();
    }
    if modules.is_empty() {
        t.push_str("    {\"\", nullptr, 0},\n");
    }
    writeln!(t, "}};\nextern const int engine_emu_module_count = {};\n}}", modules.len()).unwrap();
    t
}

fn rust_table(kdir: &Path, out: &Path, modules: &[Module]) -> String {
    let mut t = String::from("// Generated by build.rs from kernels/.\n\n");
    let mut headers: Vec<PathBuf> = fs::read_dir(kdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cuh"))
        .collect();
    headers.sort();
    headers.push(out.join("constants.cuh"));
    writeln!(t, "/// (name, text) of every header a kernel may include: `kernels/*.cuh` and the").unwrap();
    writeln!(t, "/// generated `constants.cuh`; NVRTC gets them by these names.").unwrap();
    t.push_str("pub const HEADERS: &[(&str, &str)] = &[\n");
    for h in &headers {
        let name = h.file_name().unwrap().to_string_lossy();
        writeln!(t, "    ({name:?}, include_str!({:?})),", h.display().to_string()).unwrap();
    }
    t.push_str("];\n");
    writeln!(t, "/// (module, source) for every `kernels/<module>.cu`.").unwrap();
    t.push_str("pub const SOURCES: &[(&str, &str)] = &[\n");
    for (name, path, ..) in modules {
        writeln!(t, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    t.push_str("];\n/// (module, entry points) for every kernel module.\npub const KERNELS: &[(&str, &[&str])] = &[\n");
    for (name, _, kernels, _) in modules {
        writeln!(t, "    ({name:?}, &{kernels:?}),").unwrap();
    }
    t.push_str("];\n");
    t
}

/// One row of `kernels/constants.txt`: name, Rust type, value, meaning.
struct Constant {
    name: String,
    ty: String,
    value: i64,
    doc: String,
}

fn read_constants(path: &Path) -> Vec<Constant> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out: Vec<Constant> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| panic!("{}:{}: {why}: `{line}`", path.display(), i + 1);
        let mut f = line.split_whitespace();
        let (Some(name), Some(ty), Some(value)) = (f.next(), f.next(), f.next()) else {
            bad("expected NAME TYPE VALUE meaning")
        };
        if !name.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_') {
            bad("a name is UPPER_CASE");
        }
        if !["u32", "i32", "usize"].contains(&ty) {
            bad("the type is u32, i32 or usize");
        }
        let value: i64 = value.parse().unwrap_or_else(|_| bad("the value is an integer"));
        if value < 0 || value > i32::MAX as i64 {
            bad("the value must fit a non-negative C int");
        }
        if out.iter().any(|c| c.name == name) {
            bad("defined twice");
        }
        let doc = f.collect::<Vec<_>>().join(" ");
        out.push(Constant { name: name.into(), ty: ty.into(), value, doc });
    }
    out
}

fn consts_rust(consts: &[Constant]) -> String {
    let mut t = String::from("// Generated by build.rs from kernels/constants.txt; edit the table.\n");
    for c in consts {
        writeln!(t, "/// {}\npub const {}: {} = {};", c.doc, c.name, c.ty, c.value).unwrap();
    }
    t
}

fn consts_cuh(consts: &[Constant]) -> String {
    let mut t = String::from(
        "// Generated by build.rs from kernels/constants.txt; edit the table.\n#ifndef ENGINE_CONSTANTS_CUH\n#define ENGINE_CONSTANTS_CUH\n",
    );
    for c in consts {
        writeln!(t, "#define {} {} // {}", c.name, c.value, c.doc).unwrap();
    }
    t.push_str("#endif\n");
    t
}

/// Leaves the file (and its timestamp) alone when nothing changed, so cc does not recompile it.
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
