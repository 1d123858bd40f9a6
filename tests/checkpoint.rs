//! safetensors checkpoints: round trip, atomic write, files from the reference library,
//! and one-line errors for missing, truncated, corrupt and mismatched files.

use engine::io::checkpoint::{load_checkpoint, load_checkpoint_filtered, save_checkpoint, StoredDtype};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::TempDir;

fn sample() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    vec![
        ("model.0.weight".into(), vec![2, 3, 1, 1], vec![0.5, -1.25, 3.0, f32::MIN_POSITIVE, 1e30, -0.0]),
        ("model.0.bias".into(), vec![2], vec![0.1, 0.2]),
        ("model.1.num_batches_tracked".into(), vec![], vec![4.0]),
    ]
}

fn meta() -> BTreeMap<String, String> {
    BTreeMap::from([("netG".to_string(), "unet_256".to_string()), ("epoch".to_string(), "7".to_string())])
}

fn expected_shapes() -> Vec<(String, Vec<usize>)> {
    sample().into_iter().map(|(n, s, _)| (n, s)).collect()
}

fn err_line(e: anyhow::Error) -> String {
    let s = format!("{e:#}");
    assert!(!s.contains('\n'), "error spans lines: {s}");
    s
}

#[test]
fn round_trip_is_bit_exact() {
    let dir = TempDir::new("ckpt-roundtrip");
    let path = dir.path().join("sub/latest_net_G.safetensors");
    save_checkpoint(&path, &sample(), &meta()).unwrap();
    assert!(!Path::new(&format!("{}.tmp", path.display())).exists());
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.metadata, meta());
    assert_eq!(ck.tensors.len(), 3);
    for (name, shape, data) in sample() {
        let t = ck.get(&name).unwrap();
        assert_eq!((&t.shape, t.dtype), (&shape, StoredDtype::F32));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&t.data), bits(&data), "{name}");
    }
    ck.check_against(&expected_shapes()).unwrap();
    // Overwriting replaces the file.
    save_checkpoint(&path, &sample()[1..], &BTreeMap::new()).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!((ck.tensors.len(), ck.metadata.len()), (2, 0));
}

#[test]
fn filtered_load_reads_only_what_is_kept() {
    let dir = TempDir::new("ckpt-filter");
    let path = dir.path().join("vgg.safetensors");
    save_checkpoint(&path, &sample(), &meta()).unwrap();
    let ck = load_checkpoint_filtered(&path, |n| n.ends_with("bias")).unwrap();
    assert_eq!(ck.names().collect::<Vec<_>>(), vec!["model.0.bias"]);
    assert_eq!(ck.metadata, meta());
}

#[test]
fn reads_file_written_by_reference_library() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let ck = load_checkpoint(dir.join("mixed.safetensors")).unwrap();
    let text = std::fs::read_to_string(dir.join("checkpoints_expected.json")).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let meta: BTreeMap<String, String> = serde_json::from_value(want["mixed_metadata"].clone()).unwrap();
    assert_eq!(ck.metadata, meta);
    let want = want["mixed"].as_array().unwrap();
    assert_eq!(ck.tensors.len(), want.len());
    for w in want {
        let name = w["name"].as_str().unwrap();
        let t = ck.get(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(t.dtype.torch_name(), w["dtype"].as_str().unwrap(), "{name}");
        let shape: Vec<usize> =
            w["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(t.shape, shape, "{name}");
        let values: Vec<f32> =
            w["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(t.data, values, "{name}");
    }
}

#[test]
fn missing_file_is_one_line_naming_it() {
    let err = err_line(load_checkpoint("/nonexistent/dir/net.safetensors").unwrap_err());
    assert_eq!(err, "checkpoint /nonexistent/dir/net.safetensors not found");
}

#[test]
fn truncated_and_corrupt_files_are_one_line_naming_them() {
    let dir = TempDir::new("ckpt-corrupt");
    let good = dir.path().join("good.safetensors");
    save_checkpoint(&good, &sample(), &meta()).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cut_data.safetensors", bytes[..bytes.len() - 5].to_vec(), "truncated"),
        ("cut_header.safetensors", bytes[..40].to_vec(), "truncated"),
        ("tiny.safetensors", bytes[..3].to_vec(), "truncated"),
        ("empty.safetensors", Vec::new(), "truncated"),
        (
            "garbage.safetensors",
            {
                let mut b = bytes.clone();
                b[8..20].copy_from_slice(b"not json at ");
                b
            },
            "bad header",
        ),
    ];
    for (name, content, what) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = err_line(load_checkpoint(&path).unwrap_err());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(what), "{name}: {err}");
    }
    // The truncated data names the first tensor that no longer fits.
    let err = err_line(load_checkpoint(dir.path().join("cut_data.safetensors")).unwrap_err());
    assert!(err.contains("tensor '"), "{err}");
}

#[test]
fn check_against_names_the_first_offending_tensor() {
    let dir = TempDir::new("ckpt-check");
    let path = dir.path().join("net.safetensors");
    save_checkpoint(&path, &sample(), &meta()).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    let p = path.display().to_string();

    let mut missing = expected_shapes();
    missing.insert(1, ("model.0.extra".into(), vec![3]));
    let err = err_line(ck.check_against(&missing).unwrap_err());
    assert_eq!(err, format!("checkpoint {p}: missing tensor 'model.0.extra' (expected shape [3])"));

    let mut wrong = expected_shapes();
    wrong[1].1 = vec![3];
    let err = err_line(ck.check_against(&wrong).unwrap_err());
    assert_eq!(err, format!("checkpoint {p}: tensor 'model.0.bias' has shape [2], expected [3]"));

    let fewer = expected_shapes()[..2].to_vec();
    let err = err_line(ck.check_against(&fewer).unwrap_err());
    assert_eq!(err, format!("checkpoint {p}: unexpected tensor 'model.1.num_batches_tracked' with shape []"));
    ck.check_contains(&fewer).unwrap();

    let err = err_line(ck.tensor("model.0.bias", &[2, 1]).unwrap_err());
    assert!(err.contains("'model.0.bias'") && err.contains(&p), "{err}");
    assert_eq!(ck.tensor("model.0.bias", &[2]).unwrap(), &[0.1, 0.2]);
}

#[test]
fn save_rejects_inconsistent_input() {
    let dir = TempDir::new("ckpt-reject");
    let path = dir.path().join("bad.safetensors");
    let bad = vec![("w".to_string(), vec![2, 2], vec![1.0f32; 3])];
    let err = err_line(save_checkpoint(&path, &bad, &BTreeMap::new()).unwrap_err());
    assert!(err.contains("'w'") && err.contains("bad.safetensors"), "{err}");
    let dup = vec![("w".to_string(), vec![1], vec![1.0f32]), ("w".to_string(), vec![1], vec![2.0f32])];
    assert!(save_checkpoint(&path, &dup, &BTreeMap::new()).is_err());
    assert!(!path.exists());
}

#[test]
fn failed_write_leaves_previous_file_intact() {
    let dir = TempDir::new("ckpt-atomic");
    let path = dir.path().join("net.safetensors");
    save_checkpoint(&path, &sample(), &meta()).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A folder squatting on the temporary name makes the write fail before the rename.
    std::fs::create_dir(dir.path().join("net.safetensors.tmp")).unwrap();
    let err = err_line(save_checkpoint(&path, &sample()[..1], &BTreeMap::new()).unwrap_err());
    assert!(err.contains("net.safetensors"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
