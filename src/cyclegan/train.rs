//! `engine train-cyclegan`: the reference's training loop for CycleGAN (epochs over
//! max(|A|, |B|) items, one `optimize_parameters` per batch, lr schedule stepped at the
//! start of each epoch), with a progress bar, a JSON-lines loss log, a web page refreshed
//! every epoch (the step's images and the loss plots), atomic checkpoints and exact resume:
//! at the end of every epoch the networks, both optimisers, both image pools, the
//! scheduler position and the data stream are saved, and `--continue-train` replays the
//! following epochs bit for bit.

use super::checkpoint::{load_cycle_state, save_cycle, CycleState};
use super::dataset::{batch_unpaired, UnalignedDataset};
use super::model::{CycleGan, Visuals, LOSS_NAMES};
use super::options::CycleOptions;
use super::validate::{check_dataset_sizes, validate_cycle_options};
use crate::check::usage;
use crate::io::atomic::write_bytes_atomic;
use crate::nn::Module;
use crate::optim::LrScheduler;
use crate::pix2pix::eval::save_first;
use crate::pix2pix::html::{series_chart, write_sections_page};
use crate::pix2pix::rng::Rng;
use crate::tensor::Device;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct CycleSummary {
    pub checkpoint_dir: PathBuf,
    pub epochs: usize,
    pub iterations: usize,
    pub seconds: f64,
    /// The losses last printed.
    pub last_losses: Option<[f64; 8]>,
}

/// Losses at one printed step, `epoch` counting fractions as the reference's plots do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CyclePoint {
    pub epoch: f64,
    pub values: [f64; 8],
}

pub fn train_cyclegan(o: &CycleOptions, name: &str, device: &Device) -> Result<CycleSummary> {
    validate_cycle_options(o)?;
    let mut sched = LrScheduler::new(o.schedule()?, o.lr);
    let data = UnalignedDataset::open(o, "train", false)?;
    if data.len() < o.batch_size {
        return Err(usage(format!(
            "--batch-size {}: the dataset has only {} images",
            o.batch_size,
            data.len()
        )));
    }
    check_dataset_sizes(o, &data, device)?;
    for note in data.notes() {
        eprintln!("note: {note}");
    }
    if o.lambda_identity > 0.0 && !o.uses_identity() {
        eprintln!(
            "note: no identity loss: --input-nc {} and --output-nc {} differ (G_A cannot take B images)",
            o.input_nc, o.output_nc
        );
    }
    let dir = o.checkpoints_dir.join(name);
    let web = dir.join("web");
    std::fs::create_dir_all(web.join("images"))
        .with_context(|| format!("cannot create {}", web.display()))?;

    let mut model = CycleGan::new(o, device)?;
    let mut state = CycleState::new(o);
    if o.continue_train {
        state = load_cycle_state(&dir, "latest", &mut model, device)?
            .context("--continue-train: no training state in the checkpoint folder")?;
        for _ in 0..state.scheduler_steps {
            sched.step();
        }
        eprintln!("resuming {} after epoch {} (iteration {})", dir.display(), state.epoch, state.iteration);
    } else {
        write_bytes_atomic(&dir.join("train_opt.json"), serde_json::to_string_pretty(o)?.as_bytes())?;
    }
    let (na, nb) = data.counts();
    eprintln!(
        "cyclegan: {na} A + {nb} B train images, G {} ({} + {} params), D {} ({} + {} params), batch {}, pool {}, epochs {}..={}, device {}",
        o.netg,
        model.g_a.num_parameters(),
        model.g_b.num_parameters(),
        o.netd,
        model.d_a.num_parameters(),
        model.d_b.num_parameters(),
        o.batch_size,
        o.pool_size,
        o.epoch_count,
        o.n_epochs + o.n_epochs_decay,
        device.name()
    );

    let log_path = dir.join("loss_log.jsonl");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut history = read_history(&log_path);
    if o.continue_train {
        history.retain(|p| p.epoch <= state.epoch as f64 + 1e-9);
    }
    let mut shown: Vec<(usize, Vec<&'static str>)> = (o.epoch_count..=state.epoch)
        .filter(|e| web.join("images").join(image_name(*e, "fake_B")).exists())
        .map(|e| (e, image_labels(o)))
        .collect();
    shown.reverse();

    let started = Instant::now();
    let last_epoch = o.n_epochs + o.n_epochs_decay;
    let steps_per_epoch = data.len() / o.batch_size;
    let mut iters_this_run = 0usize;
    let mut last_losses = None;
    model.set_training(true);
    for epoch in (state.epoch + 1).max(o.epoch_count)..=last_epoch {
        model.set_lr(sched.step());
        let mut rng = Rng::from_state(state.data_rng);
        let mut order: Vec<usize> = (0..data.len()).collect();
        if !data.serial() {
            rng.shuffle(&mut order);
        }
        let bar = ProgressBar::new(steps_per_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{epoch}/{last_epoch}"));
        let epoch_start = Instant::now();
        let mut last: Option<Visuals> = None;
        for (step, chunk) in order.chunks_exact(o.batch_size).enumerate() {
            let samples = chunk.iter().map(|&i| data.get(i, &mut rng)).collect::<Result<Vec<_>>>()?;
            let (real_a, real_b) = batch_unpaired(&samples, device)?;
            let (visuals, losses) = model.step(&real_a, &real_b);
            state.iteration += 1;
            iters_this_run += 1;
            let last_step = step + 1 == steps_per_epoch;
            if state.iteration.is_multiple_of(o.print_freq.max(1)) || last_step {
                let v = losses.values();
                if v.iter().any(|x| !x.is_finite()) {
                    bar.abandon();
                    return Err(anyhow::anyhow!(
                        "training stopped: the loss became non-finite at iteration {} ({}); the last saved epoch is {} in {}; lower --lr",
                        state.iteration,
                        format_losses(&v),
                        state.epoch,
                        dir.display()
                    ));
                }
                let progress = epoch as f64 - 1.0 + (step + 1) as f64 / steps_per_epoch as f64;
                let mut line = serde_json::json!({"epoch": epoch, "iter": state.iteration, "epoch_progress": progress, "lr": model.opt_g.lr, "seconds": started.elapsed().as_secs_f64()});
                for (n, x) in LOSS_NAMES.iter().zip(v) {
                    line[*n] = serde_json::json!(x);
                }
                writeln!(log, "{line}")
                    .and_then(|_| log.flush())
                    .with_context(|| format!("cannot write {}", log_path.display()))?;
                bar.set_message(format_losses(&v));
                history.push(CyclePoint { epoch: progress, values: v });
                last_losses = Some(v);
            }
            bar.inc(1);
            last = Some(visuals);
            if o.max_iters.is_some_and(|m| iters_this_run >= m) {
                bar.abandon();
                eprintln!("stopping after {iters_this_run} iterations (--max-iters); the last complete epoch is saved");
                return Ok(CycleSummary {
                    checkpoint_dir: dir,
                    epochs: state.epoch,
                    iterations: state.iteration,
                    seconds: started.elapsed().as_secs_f64(),
                    last_losses,
                });
            }
        }
        bar.finish_and_clear();
        let secs = epoch_start.elapsed().as_secs_f64();
        eprintln!(
            "epoch {epoch}/{last_epoch}: {steps_per_epoch} steps in {secs:.1} s ({:.2} it/s), lr {:.2e}{}",
            steps_per_epoch as f64 / secs,
            model.opt_g.lr,
            last_losses.map(|v| format!(", {}", format_losses(&v))).unwrap_or_default()
        );
        if let Some(v) = &last {
            let mut labels = Vec::new();
            for (label, t) in v.labelled() {
                save_first(&web.join("images").join(image_name(epoch, label)), t)?;
                labels.push(label);
            }
            shown.insert(0, (epoch, labels));
        }
        write_page(&web, name, &shown, &history)?;

        state.epoch = epoch;
        state.scheduler_steps = sched.last_epoch();
        state.data_rng = rng.state();
        save_cycle(&dir, "latest", &model, Some(&state))?;
        if epoch % o.save_epoch_freq.max(1) == 0 || epoch == last_epoch {
            save_cycle(&dir, &epoch.to_string(), &model, None)?;
        }
    }
    Ok(CycleSummary {
        checkpoint_dir: dir,
        epochs: state.epoch,
        iterations: state.iteration,
        seconds: started.elapsed().as_secs_f64(),
        last_losses,
    })
}

fn format_losses(v: &[f64; 8]) -> String {
    LOSS_NAMES.iter().zip(v).map(|(n, x)| format!("{n} {x:.3}")).collect::<Vec<_>>().join(" ")
}

/// The reference's names: `epoch005_real_A.png`, ...
pub fn image_name(epoch: usize, label: &str) -> String {
    format!("epoch{epoch:03}_{label}.png")
}

/// The visuals a run shows (identity images only with the identity loss).
fn image_labels(o: &CycleOptions) -> Vec<&'static str> {
    let mut v = vec!["real_A", "fake_B", "rec_A"];
    if o.uses_identity() {
        v.push("idt_B");
    }
    v.extend(["real_B", "fake_A", "rec_B"]);
    if o.uses_identity() {
        v.push("idt_A");
    }
    v
}

/// The colours of the eight losses (the GAN terms and the L1 terms on separate charts).
const COLOURS: [&str; 8] =
    ["#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#17becf", "#8c564b", "#e377c2"];

/// Loss plots: D_A, G_A, D_B, G_B on one chart, the weighted cycle and identity terms on another.
pub fn loss_plots(history: &[CyclePoint]) -> String {
    if history.is_empty() {
        return "<p>No losses recorded yet.</p>\n".into();
    }
    let series = |idx: &[usize]| {
        idx.iter()
            .map(|&k| (LOSS_NAMES[k], COLOURS[k], history.iter().map(|p| (p.epoch, p.values[k])).collect()))
            .collect()
    };
    let mut out = String::from("<div>\n");
    out.push_str(&series_chart("GAN losses (LSGAN)", "plot-gan", series(&[0, 1, 4, 5])));
    out.push_str(&series_chart("Cycle and identity losses (weighted)", "plot-cycle", series(&[2, 3, 6, 7])));
    out.push_str("</div>\n");
    out
}

fn write_page(
    web: &Path,
    name: &str,
    shown: &[(usize, Vec<&'static str>)],
    history: &[CyclePoint],
) -> Result<PathBuf> {
    let intro = format!("<h2>Losses</h2>\n{}", loss_plots(history));
    let sections: Vec<(String, Vec<(String, String)>)> = shown
        .iter()
        .map(|(e, labels)| {
            let cells =
                labels.iter().map(|l| (format!("images/{}", image_name(*e, l)), l.to_string())).collect();
            (format!("epoch {e}"), cells)
        })
        .collect();
    write_sections_page(web, &format!("CycleGAN: {name}"), Some(60), &intro, &sections)
}

fn read_history(path: &Path) -> Vec<CyclePoint> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let mut values = [0.0; 8];
            for (k, n) in LOSS_NAMES.iter().enumerate() {
                values[k] = v[*n].as_f64()?;
            }
            Some(CyclePoint { epoch: v["epoch_progress"].as_f64()?, values })
        })
        .collect()
}
