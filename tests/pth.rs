//! Reading `torch.save` files made by real PyTorch (scripts/make_checkpoint_fixtures.py):
//! zip and legacy layouts, views with offsets and strides, f16/bf16/f64/int64 storages.

use engine::io::checkpoint::load_pth;
use engine::io::checkpoint::{load_checkpoint, load_checkpoint_filtered, Checkpoint, StoredDtype};
use serde_json::Value;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn expected(key: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(data("checkpoints_expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v[key].as_array().unwrap().clone()
}

/// Names, order, shapes, dtypes and values exactly as PyTorch holds them.
fn assert_matches(ck: &Checkpoint, want: &[Value]) {
    let names: Vec<&str> = ck.names().collect();
    let want_names: Vec<&str> = want.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, want_names, "{}", ck.path.display());
    for (t, w) in ck.tensors.iter().zip(want) {
        let shape: Vec<usize> =
            w["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(t.shape, shape, "{}", t.name);
        assert_eq!(t.dtype.torch_name(), w["dtype"].as_str().unwrap(), "{}", t.name);
        let values: Vec<f32> =
            w["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(t.data, values, "{}", t.name);
    }
}

#[test]
fn reads_state_dict_zip_format() {
    let ck = load_pth(data("tiny_conv_bn.pth")).unwrap();
    assert_matches(&ck, &expected("tiny_conv_bn"));
    let nbt = ck.get("1.num_batches_tracked").unwrap();
    assert_eq!((nbt.dtype, nbt.shape.len(), nbt.data[0]), (StoredDtype::I64, 0, 1.0));
    ck.check_against(&[
        ("0.weight".into(), vec![4, 3, 3, 3]),
        ("0.bias".into(), vec![4]),
        ("1.weight".into(), vec![4]),
        ("1.bias".into(), vec![4]),
        ("1.running_mean".into(), vec![4]),
        ("1.running_var".into(), vec![4]),
        ("1.num_batches_tracked".into(), vec![]),
    ])
    .unwrap();
}

#[test]
fn reads_state_dict_legacy_format() {
    let ck = load_pth(data("tiny_conv_bn_legacy.pth")).unwrap();
    assert_matches(&ck, &expected("tiny_conv_bn"));
}

#[test]
fn reads_views_dtypes_and_nested_dicts() {
    for file in ["views.pth", "views_legacy.pth"] {
        let ck = load_pth(data(file)).unwrap();
        assert_matches(&ck, &expected("views"));
        // The transpose is gathered, not copied as stored.
        let t = ck.tensor("transposed", &[6, 4]).unwrap();
        let base = ck.tensor("base", &[4, 6]).unwrap();
        assert_eq!(t[1], base[6]);
        assert_eq!(ck.get("nested.w").unwrap().shape, vec![2, 1]);
    }
}

#[test]
fn load_checkpoint_recognises_pth_files() {
    let ck = load_checkpoint(data("tiny_conv_bn.pth")).unwrap();
    assert_eq!(ck.tensors.len(), 7);
    let ck = load_checkpoint_filtered(data("tiny_conv_bn_legacy.pth"), |n| n.starts_with("0.")).unwrap();
    assert_eq!(ck.names().collect::<Vec<_>>(), vec!["0.weight", "0.bias"]);
}

#[test]
fn truncated_pth_is_one_clear_error() {
    let dir = std::env::temp_dir().join(format!("engine-pth-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["tiny_conv_bn.pth", "tiny_conv_bn_legacy.pth"] {
        let bytes = std::fs::read(data(file)).unwrap();
        let cut = dir.join(file);
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let err = format!("{:#}", load_checkpoint(&cut).unwrap_err());
        assert!(err.contains(&cut.display().to_string()), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_pth_names_the_file() {
    let err = format!("{:#}", load_pth("/nonexistent/latest_net_G.pth").unwrap_err());
    assert_eq!(err, "checkpoint /nonexistent/latest_net_G.pth not found");
}
