//! The NVRTC compile path: every kernel module compiles for sm_80 and sm_90 through the
//! engine's own compile code, and ptxas's resource report is read. Runs wherever NVRTC is
//! found (LD_LIBRARY_PATH or ENGINE_NVRTC); no GPU needed.

use engine::backend::device::compile::{self, Target};
use engine::backend::device::sources::KERNELS;

fn nvrtc_found() -> bool {
    match compile::nvrtc_version() {
        Ok(_) => true,
        Err(e) => {
            println!("skipped: {e}");
            false
        }
    }
}

#[test]
fn every_module_compiles_for_sm80_and_sm90() {
    if !nvrtc_found() {
        return;
    }
    for arch in ["sm_80", "sm_90"] {
        let reports = compile::compile_report(arch).unwrap_or_else(|e| panic!("{e}"));
        println!("{}", compile::format_report(&reports));
        for (module, kernels) in KERNELS {
            for k in kernels.iter().filter(|k| !k.starts_with("emu_only_")) {
                let r = reports.iter().find(|r| r.module == *module && r.kernel == *k);
                let r = r.unwrap_or_else(|| panic!("{module}/{k} missing from the {arch} report"));
                assert!(r.registers > 0, "{module}/{k}: no register count in the ptxas log");
                assert_eq!(r.arch, arch);
            }
        }
        let tiled = reports.iter().find(|r| r.kernel == "matmul_tiled").unwrap();
        assert_eq!(tiled.shared_bytes, 2 * 16 * 17 * 4, "static shared memory of matmul_tiled");
    }
}

#[test]
fn compile_error_names_the_file_and_shows_the_log() {
    if !nvrtc_found() {
        return;
    }
    let bad =
        "#include \"prelude.cuh\"\nextern \"C\" __global__ void k(float* y) { y[0] = undefined_thing; }\n";
    let e = compile::compile_source("kernels/bad.cu", bad, Target::Cubin(80))
        .err()
        .expect("must fail")
        .to_string();
    assert!(e.starts_with("NVRTC failed to compile kernels/bad.cu for sm_80"), "{e}");
    assert!(e.contains("undefined_thing"), "{e}");
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    if !nvrtc_found() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("engine-nvrtc-cache-{}", std::process::id()));
    std::env::set_var("ENGINE_CACHE", &dir);
    let path = compile::cache_path("selftest", Target::Cubin(90)).unwrap();
    assert!(path.starts_with(dir.join("kernels")));
    let first = compile::compile_cached("selftest", Target::Cubin(90)).unwrap();
    assert!(path.is_file(), "{} not written", path.display());
    // A cached file is used as is: replace it and read it back.
    std::fs::write(&path, b"cached").unwrap();
    assert_eq!(compile::compile_cached("selftest", Target::Cubin(90)).unwrap(), b"cached");
    assert!(first.len() > 1000, "a CUBIN");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn device_architecture_is_clamped_to_what_nvrtc_supports() {
    if !nvrtc_found() {
        return;
    }
    let archs = compile::supported_archs().unwrap();
    assert!(archs.contains(&80) && archs.contains(&90), "{archs:?}");
    assert_eq!(compile::target_for(9, 0).unwrap(), Target::Cubin(90));
    // A device newer than every architecture NVRTC knows gets PTX for the newest one.
    assert_eq!(compile::target_for(99, 9).unwrap(), Target::Ptx(*archs.iter().max().unwrap()));
    assert!(compile::target_for(1, 0).is_err());
}

#[test]
fn ptxas_log_is_parsed() {
    let log = "ptxas info    : 0 bytes gmem\n\
        ptxas info    : Compiling entry function 'k1' for 'sm_90'\n\
        ptxas info    : Function properties for k1\n    \
        8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads\n\
        ptxas info    : Used 40 registers, used 1 barriers, 2176 bytes smem, 400 bytes cmem[0]\n\
        ptxas info    : Compiling entry function 'k2' for 'sm_90'\n\
        ptxas info    : Function properties for k2\n    \
        0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n\
        ptxas info    : Used 8 registers, used 0 barriers, 368 bytes cmem[0]\n";
    let r = compile::parse_ptxas(log, "m", "sm_90");
    assert_eq!(r.len(), 2);
    assert_eq!(
        (
            r[0].kernel.as_str(),
            r[0].registers,
            r[0].shared_bytes,
            r[0].stack_bytes,
            r[0].spill_stores,
            r[0].spill_loads
        ),
        ("k1", 40, 2176, 8, 4, 12)
    );
    assert_eq!((r[1].kernel.as_str(), r[1].registers, r[1].shared_bytes), ("k2", 8, 0));
}

/// The SASS of every kernel for sm_90 (cuobjdump; skipped with a printed line without it):
/// each tensor-core kernel uses HMMA and no local memory; no kernel spills; no SIMT or
/// tensor-core conv kernel has an integer-division sequence inside a loop.
#[test]
fn sass_tensor_cores_no_spills_no_divisions_in_conv_loops() {
    if !nvrtc_found() {
        return;
    }
    let Some(counts) = engine::backend::device::sass::sass_report("sm_90").unwrap_or_else(|e| panic!("{e}"))
    else {
        println!("skipped: no cuobjdump (pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm; ENGINE_CUOBJDUMP)");
        return;
    };
    println!("{}", engine::backend::device::sass::format_sass(&counts));
    let tc: Vec<_> = counts.iter().filter(|c| c.module == "conv_tc").collect();
    assert_eq!(tc.len(), 24, "conv_tc kernels in the SASS");
    for c in &tc {
        assert!(c.hmma > 0, "{}: no HMMA", c.kernel);
        assert!(c.ldl + c.stl == 0, "{}: local memory ({} LDL, {} STL)", c.kernel, c.ldl, c.stl);
    }
    for c in counts.iter().filter(|c| c.module == "conv" || c.module == "conv_tc") {
        assert_eq!(c.div_in_loops, 0, "{}/{}: integer division inside a loop", c.module, c.kernel);
    }
    for arch in ["sm_80", "sm_90"] {
        for r in compile::compile_report(arch).unwrap_or_else(|e| panic!("{e}")) {
            assert!(r.spill_stores + r.spill_loads == 0, "{}/{} spills on {arch}", r.module, r.kernel);
        }
    }
}
