//! Hostile checkpoints (issue 11, class 1): `.pth` pickles and zips, and safetensors whose
//! `arch` metadata lies, built here byte by byte. Every load must end in one error line,
//! quickly, and never ask for more memory than the file can hold: a counting allocator
//! records the largest single allocation each test thread requests.

use engine::io::checkpoint::{load_checkpoint, save_checkpoint};
use engine::pix2pix::checkpoint::load_generator;
use engine::pix2pix::model::Arch;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

mod common;
use common::TempDir;

struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(l.size())));
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(new)));
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Loads `path`, which must fail, asking no single allocation above `cap` bytes; the error.
fn refused(path: &Path, cap: usize) -> String {
    LARGEST.with(|m| m.set(0));
    let r = load_checkpoint(path);
    let largest = LARGEST.with(|m| m.get());
    let err = format!("{:#}", r.err().unwrap_or_else(|| panic!("{} loaded", path.display())));
    assert!(largest <= cap, "{}: asked for {largest} bytes at once ({err})", path.display());
    assert!(!err.contains('\n') && err.contains(&path.display().to_string()), "{err}");
    err
}

// ---- A tiny pickle writer (protocol 2) ----

#[derive(Default)]
struct P(Vec<u8>);

impl P {
    fn op(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.op(b"X").op(&(s.len() as u32).to_le_bytes()).op(s.as_bytes())
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.op(&[0x8a, 8]).op(&v.to_le_bytes())
    }
    fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.op(b"c").op(module.as_bytes()).op(b"\n").op(name.as_bytes()).op(b"\n")
    }
    fn ints(&mut self, v: &[i64]) -> &mut Self {
        self.op(b"(");
        for &x in v {
            self.int(x);
        }
        self.op(b"t")
    }
    /// `_rebuild_tensor_v2(storage key, offset, shape, stride, False, {})` of f32 storage.
    fn tensor(&mut self, key: &str, offset: i64, shape: &[i64], stride: &[i64]) -> &mut Self {
        self.global("torch._utils", "_rebuild_tensor_v2").op(b"(");
        self.op(b"(").str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(1).op(b"tQ");
        self.int(offset).ints(shape).ints(stride).op(&[0x89]).op(b"}tR")
    }
    fn header() -> P {
        let mut p = P::default();
        p.op(&[0x80, 2]);
        p
    }
}

/// `torch.save`'s zip layout: `archive/data.pkl` plus `archive/data/<key>` records.
fn write_zip(path: &Path, pickle: &[u8], records: &[(&str, Vec<u8>)], deflate: bool) {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("archive/data.pkl", stored).unwrap();
    z.write_all(pickle).unwrap();
    for (key, data) in records {
        let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let opts = SimpleFileOptions::default().compression_method(method).large_file(data.len() > 1 << 31);
        z.start_file(format!("archive/data/{key}"), opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

fn f32s(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

fn one_tensor(dir: &Path, name: &str, offset: i64, shape: &[i64], stride: &[i64]) -> PathBuf {
    let mut p = P::header();
    p.op(b"}(").str("w").tensor("0", offset, shape, stride).op(b"u.");
    let path = dir.join(name);
    write_zip(&path, &p.0, &[("0", f32s(4))], false);
    path
}

#[test]
fn a_valid_hand_made_pth_loads() {
    // The writer itself is right: the same layout with sane numbers loads.
    let dir = TempDir::new("hostile-valid");
    let path = one_tensor(&dir, "ok.pth", 1, &[3], &[1]);
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.tensor("w", &[3]).unwrap(), &[1.0, 2.0, 3.0]);
    let path = one_tensor(&dir, "t.pth", 0, &[2, 2], &[1, 2]);
    assert_eq!(load_checkpoint(&path).unwrap().tensor("w", &[2, 2]).unwrap(), &[0.0, 2.0, 1.0, 3.0]);
}

#[test]
fn products_offsets_and_strides_are_checked() {
    let dir = TempDir::new("hostile-views");
    type Case<'a> = (&'a str, i64, &'a [i64], &'a [i64], &'a str);
    let cases: [Case; 5] = [
        // 2^33 elements of stride 0 over a 4-element storage: 34 GB before.
        ("broadcast.pth", 0, &[1 << 33], &[0], "elements"),
        // An empty tensor starting far past the end: a slice panic before.
        ("empty.pth", 1 << 40, &[0], &[1], "starts at element"),
        // Strides whose sum wraps around.
        ("wrap.pth", 3, &[2, 2], &[i64::MAX, i64::MAX], "overflow"),
        // A shape whose product overflows.
        ("product.pth", 0, &[1 << 32, 1 << 32, 16], &[0, 0, 0], "overflows"),
        ("past.pth", 2, &[3], &[1], "reaches element"),
    ];
    for (name, offset, shape, stride, says) in cases {
        let err = refused(&one_tensor(&dir, name, offset, shape, stride), 1 << 20);
        assert!(err.contains(says) && err.contains("'w'"), "{name}: {err}");
    }
}

#[test]
fn deep_nesting_and_cycles_are_refused() {
    let dir = TempDir::new("hostile-depth");
    // 100000 lists, each appended into the one before: a stack overflow before.
    let mut p = P::header();
    p.op(b"}(").str("w");
    p.op(&vec![b']'; 100_000]).op(&vec![b'a'; 99_999]).op(b"u.");
    let path = dir.join("deep.pth");
    write_zip(&path, &p.0, &[], false);
    assert!(refused(&path, 16 << 20).contains("deep"));
    // A dict holding itself under "self": endless recursion before.
    let mut p = P::header();
    p.op(b"}q\x00").str("self").op(b"h\x00s.");
    let path = dir.join("cycle.pth");
    write_zip(&path, &p.0, &[], false);
    assert!(refused(&path, 1 << 20).contains("cycle"));
}

#[test]
fn memo_sharing_cannot_multiply_work_or_memory() {
    let dir = TempDir::new("hostile-memo");
    // d0 = {"w": tensor}; d_i = {"a": d_(i-1), "b": d_(i-1)}: 2^40 names in 1 KB.
    let mut p = P::header();
    p.op(b"}(").str("w").tensor("0", 0, &[4], &[1]).op(b"u");
    for i in 0..40u8 {
        p.op(b"q").op(&[i]).op(b"}(").str("a").op(b"h").op(&[i]).str("b").op(b"h").op(&[i]).op(b"u");
    }
    p.op(b".");
    let path = dir.join("paths.pth");
    write_zip(&path, &p.0, &[("0", f32s(4))], false);
    let t = std::time::Instant::now();
    assert!(refused(&path, 64 << 20).contains("entries"));
    assert!(t.elapsed().as_secs() < 20);
    // 20000 names for one memoised 64 KB tensor: 1.3 GB of copies from a 150 KB file.
    let mut p = P::header();
    p.op(b"}(").str("t0").tensor("0", 0, &[16384], &[1]).op(b"q\x00");
    for i in 1..20_000 {
        p.str(&format!("t{i}")).op(b"h\x00");
    }
    p.op(b"u.");
    let path = dir.join("copies.pth");
    write_zip(&path, &p.0, &[("0", f32s(16384))], false);
    assert!(refused(&path, 4 << 20).contains("shared"));
    // A string of 1 MB memoised and pushed 100000 times costs no copies.
    let mut p = P::header();
    p.op(b"}(")
        .str("w")
        .tensor("0", 0, &[4], &[1])
        .str("junk")
        .op(b"(")
        .str(&"x".repeat(1 << 20))
        .op(b"q\x01");
    p.op(&b"h\x01".repeat(100_000)).op(b"lu.");
    let path = dir.join("strings.pth");
    write_zip(&path, &p.0, &[("0", f32s(4))], false);
    LARGEST.with(|m| m.set(0));
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.tensors.len(), 1);
    assert!(LARGEST.with(|m| m.get()) < 8 << 20);
}

#[test]
fn zip_records_are_bounded_by_the_archive() {
    let dir = TempDir::new("hostile-zip");
    // 256 MiB of zeros deflate to ~256 KB: refused before it is inflated.
    let mut p = P::header();
    p.op(b"}(").str("w").tensor("0", 0, &[4], &[1]).op(b"u.");
    let path = dir.join("bomb.pth");
    write_zip(&path, &p.0, &[("0", vec![0u8; 256 << 20])], true);
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    assert!(refused(&path, 8 << 20).contains("decompress"));
    // Deflated records of real size still load (torch stores them, but zip tools may not).
    let path = dir.join("deflated.pth");
    write_zip(&path, &p.0, &[("0", f32s(4))], true);
    assert_eq!(load_checkpoint(&path).unwrap().tensor("w", &[4]).unwrap(), &[0.0, 1.0, 2.0, 3.0]);
}

fn arch(ngf: usize) -> Arch {
    Arch {
        input_nc: 3,
        output_nc: 3,
        netg: "unet_32".into(),
        ngf,
        netd: "basic".into(),
        n_layers_d: 3,
        ndf: 8,
        norm: engine::nn::Norm::Batch,
        dropout: false,
        objective: Default::default(),
    }
}

#[test]
fn safetensors_arch_metadata_is_checked_before_building() {
    let dir = TempDir::new("hostile-arch");
    let cpu = engine::tensor::Device::cpu();
    let g = arch(4).generator(0, &cpu).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = engine::nn::Module::state_dict(&g)
        .into_iter()
        .map(|e| {
            let n = e.shape.iter().product();
            (e.name, e.shape, vec![0.5; n])
        })
        .collect();
    let save = |name: &str, meta: serde_json::Value| {
        let path = dir.join(name);
        let m = BTreeMap::from([("arch".to_string(), meta.to_string())]);
        save_checkpoint(&path, &tensors, &m).unwrap();
        path
    };
    let ok = save("ok.safetensors", serde_json::to_value(arch(4)).unwrap());
    load_generator(&ok, &arch(64), &cpu).unwrap();
    let mut cases = Vec::new();
    for (field, value, says) in [
        ("ngf", serde_json::json!(1_000_000), "ngf 1000000"),
        ("ngf", serde_json::json!(64), "does not match"),
        ("input_nc", serde_json::json!(1_000_000_000), "input_nc"),
        ("netg", serde_json::json!("unet_1073741824"), "deeper"),
    ] {
        let mut m = serde_json::to_value(arch(4)).unwrap();
        m[field] = value;
        cases.push((save(&format!("bad{}.safetensors", cases.len()), m), says));
    }
    for (path, says) in cases {
        LARGEST.with(|m| m.set(0));
        let err = format!("{:#}", load_generator(&path, &arch(4), &cpu).err().unwrap());
        assert!(LARGEST.with(|m| m.get()) < 8 << 20, "{err}");
        assert!(err.contains(says) && err.contains(&path.display().to_string()), "{err}");
    }
}
