//! pix2pix learning-rate schedules, built from the options as the app builds them
//! (`TrainOptions::schedule`), against the rates PyTorch's schedulers produce (fixture made
//! by scripts/make_schedule_fixture.py).

use engine::optim::LrScheduler;
use engine::pix2pix::options::TrainOptions;
use serde_json::Value;

#[test]
fn schedules_match_torch() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lr_schedules_torch.json"))
            .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let u = |k: &str| case[k].as_u64().unwrap() as usize;
        let name = case["policy"].as_str().unwrap();
        let o = TrainOptions {
            lr_policy: name.into(),
            epoch_count: u("epoch_count"),
            n_epochs: u("n_epochs"),
            n_epochs_decay: u("n_epochs_decay"),
            lr_decay_iters: u("lr_decay_iters"),
            ..TrainOptions::default()
        };
        let policy = o.schedule().unwrap();
        let base = case["base_lr"].as_f64().unwrap();
        let want: Vec<f64> = case["lrs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let mut sched = LrScheduler::new(policy.clone(), base);
        for (e, w) in want.iter().enumerate() {
            let got = if e == 0 { sched.lr() } else { sched.step() };
            // PyTorch's cosine is recursive, ours closed-form: equal up to rounding.
            assert!((got - w).abs() <= 1e-12 * base, "{policy:?} after {e} steps: {got} vs torch {w}");
        }
    }
}
