//! `engine train-pix2pix`: the training loop of the reference (epochs of shuffled batches,
//! D step then G step, lr schedule stepped at the start of each epoch), with a progress bar, a JSON-lines
//! loss log, a web page refreshed every epoch, atomic checkpoints and exact resume.
//!
//! Exact resume: at the end of every epoch the weights, both optimisers, the scheduler
//! position, the data RNG and the dropout streams are saved. `--continue-train` restarts
//! from there and replays the following epochs bit for bit (all randomness is counter-based
//! or comes from saved generator states).

use super::checkpoint::{load_model, save_model, TrainState};
use super::dataset::{batch_tensors, open_dataset};
use super::eval::{evaluate, save_first, EvalResult};
use super::html::{write_train_page, EpochImages, LossPoint};
use super::model::{Pix2Pix, LOSS_NAMES};
use super::options::{LrPolicy, TrainOptions};
use super::rng::Rng;
use super::validate::{check_input_size, check_memory, validate_options};
use crate::check::usage;
use crate::io::atomic::write_bytes_atomic;
use crate::nn::Module;
use crate::optim::schedule::{LrPolicy as Policy, LrScheduler};
use crate::tensor::Device;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a finished run reports.
pub struct TrainSummary {
    pub checkpoint_dir: PathBuf,
    pub epochs: usize,
    pub iterations: usize,
    pub seconds: f64,
    pub validation: Option<EvalResult>,
}

fn scheduler(o: &TrainOptions) -> LrScheduler {
    let policy = match o.lr_policy {
        LrPolicy::Linear => Policy::Linear {
            epoch_count: o.epoch_count,
            n_epochs: o.n_epochs,
            n_epochs_decay: o.n_epochs_decay,
        },
        LrPolicy::Step => Policy::Step { lr_decay_iters: o.lr_decay_iters.max(1), gamma: 0.1 },
        LrPolicy::Cosine => Policy::Cosine { t_max: o.n_epochs.max(1) },
    };
    LrScheduler::new(policy, o.lr)
}

pub fn train(o: &TrainOptions, name: &str, device: &Device) -> Result<TrainSummary> {
    // Everything that can be refused is refused before anything is built or written.
    validate_options(o)?;
    let data = open_dataset(o, "train")?;
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
    let dir = o.checkpoints_dir.join(name);
    let web = dir.join("web");
    std::fs::create_dir_all(web.join("images"))
        .with_context(|| format!("cannot create {}", web.display()))?;

    let mut model = Pix2Pix::new(o, device)?;
    let mut sched = scheduler(o);
    let mut state = TrainState::new(o);
    if o.continue_train {
        state = load_model(&dir, "latest", &mut model, true)?
            .context("--continue-train: no training state in the checkpoint folder")?;
        for _ in 0..state.scheduler_steps {
            sched.step();
        }
        eprintln!("resuming {} after epoch {} (iteration {})", dir.display(), state.epoch, state.iteration);
    } else {
        let opt_text = serde_json::to_string_pretty(o)?;
        write_bytes_atomic(&dir.join("train_opt.json"), opt_text.as_bytes())?;
    }
    eprintln!(
        "pix2pix: {} train images, G {} ({} params), D {} ({} params), batch {}, epochs {}..={}, device {}",
        data.len(),
        o.netg,
        model.g.num_parameters(),
        if model.d.is_some() { o.netd.as_str() } else { "none (objective l1)" },
        model.d.as_ref().map_or(0, |d| d.num_parameters()),
        o.batch_size,
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
        // Drop log lines of an epoch that was interrupted: it is replayed.
        history.retain(|p| p.epoch <= state.epoch as f64 + 1e-9);
    }
    let mut pages: Vec<EpochImages> = (o.epoch_count..=state.epoch)
        .filter(|e| web.join("images").join(EpochImages::file_name(*e, "fake_B")).exists())
        .map(EpochImages::new)
        .collect();
    pages.reverse();

    let started = Instant::now();
    let last_epoch = o.n_epochs + o.n_epochs_decay;
    let steps_per_epoch = data.len() / o.batch_size;
    let mut iters_this_run = 0usize;
    // The last iteration whose losses were read and finite (losses are read only when printed).
    let mut checked_iter = state.iteration;
    model.g.train();
    if let Some(d) = &mut model.d {
        d.train();
    }
    for epoch in (state.epoch + 1).max(o.epoch_count)..=last_epoch {
        // The scheduler steps at the start of the epoch, as the current reference's
        // update_learning_rate: epoch e trains with the rate after e - epoch_count + 1 steps.
        model.set_lr(sched.step());
        let mut rng = Rng::from_state(state.data_rng);
        let mut order: Vec<usize> = (0..data.len()).collect();
        rng.shuffle(&mut order);
        let bar = ProgressBar::new(steps_per_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{epoch}/{last_epoch}"));
        let epoch_start = Instant::now();
        let mut last = None;
        for (step, chunk) in order.chunks_exact(o.batch_size).enumerate() {
            let samples = chunk.iter().map(|&i| data.get(i, &mut rng)).collect::<Result<Vec<_>>>()?;
            let (real_a, real_b) = batch_tensors(&samples, device)?;
            let (fake_b, losses) = model.step(&real_a, &real_b);
            state.iteration += 1;
            iters_this_run += 1;
            let last_step = step + 1 == steps_per_epoch;
            if state.iteration.is_multiple_of(o.print_freq.max(1)) || last_step {
                let v = losses.values();
                if v.iter().any(|x| !x.is_finite()) {
                    bar.abandon();
                    return Err(non_finite_loss(&dir, &state, checked_iter, &v));
                }
                checked_iter = state.iteration;
                let point = LossPoint {
                    epoch: epoch as f64 - 1.0 + (step + 1) as f64 / steps_per_epoch as f64,
                    g_gan: v[0],
                    g_l1: v[1],
                    d_real: v[2],
                    d_fake: v[3],
                };
                let line = serde_json::json!({"epoch": epoch, "iter": state.iteration, "epoch_progress": point.epoch, "G_GAN": v[0], "G_L1": v[1], "D_real": v[2], "D_fake": v[3], "lr": model.opt_g.lr, "seconds": started.elapsed().as_secs_f64()});
                writeln!(log, "{line}")
                    .and_then(|_| log.flush())
                    .with_context(|| format!("cannot write {}", log_path.display()))?;
                bar.set_message(
                    LOSS_NAMES
                        .iter()
                        .zip(v)
                        .map(|(n, x)| format!("{n} {x:.3}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                history.push(point);
            }
            bar.inc(1);
            last = Some((real_a, fake_b, real_b));
            if o.max_iters.is_some_and(|m| iters_this_run >= m) {
                bar.abandon();
                eprintln!("stopping after {iters_this_run} iterations (--max-iters); the last complete epoch is saved");
                return Ok(TrainSummary {
                    checkpoint_dir: dir,
                    epochs: state.epoch,
                    iterations: state.iteration,
                    seconds: started.elapsed().as_secs_f64(),
                    validation: None,
                });
            }
        }
        bar.finish_and_clear();
        let secs = epoch_start.elapsed().as_secs_f64();
        eprintln!(
            "epoch {epoch}/{last_epoch}: {steps_per_epoch} steps in {secs:.1} s ({:.2} img/s), lr {:.2e}",
            (steps_per_epoch * o.batch_size) as f64 / secs,
            model.opt_g.lr
        );

        // Images of the epoch's last batch on the web page.
        if let Some((a, f, b)) = &last {
            let e = EpochImages::new(epoch);
            save_first(&web.join("images").join(&e.real_a), a)?;
            save_first(&web.join("images").join(&e.fake_b), f)?;
            save_first(&web.join("images").join(&e.real_b), b)?;
            pages.insert(0, e);
        }
        write_train_page(&web, &format!("pix2pix: {name}"), &pages, &history)?;

        state.epoch = epoch;
        state.scheduler_steps = sched.last_epoch();
        state.data_rng = rng.state();
        save_model(&dir, "latest", &model, Some(&state))?;
        if epoch % o.save_epoch_freq.max(1) == 0 || epoch == last_epoch {
            save_model(&dir, &epoch.to_string(), &model, None)?;
        }
    }

    let validation = validate(o, &mut model, device)?;
    if let Some(v) = &validation {
        eprintln!("validation ({} images): L1 {:.4}, PSNR {:.2} dB", v.count, v.l1, v.psnr);
    }
    Ok(TrainSummary {
        checkpoint_dir: dir,
        epochs: state.epoch,
        iterations: state.iteration,
        seconds: started.elapsed().as_secs_f64(),
        validation,
    })
}

/// The error for a NaN or infinite loss: which iterations, and what is kept. Nothing of the
/// epoch is saved, so the last checkpoint (of the previous epoch) stays the good one.
fn non_finite_loss(dir: &Path, state: &TrainState, checked: usize, v: &[f64; 4]) -> anyhow::Error {
    let losses = LOSS_NAMES.iter().zip(v).map(|(n, x)| format!("{n} {x}")).collect::<Vec<_>>().join(", ");
    let when = if checked + 1 == state.iteration {
        format!("at iteration {}", state.iteration)
    } else {
        format!("between iterations {} and {}", checked + 1, state.iteration)
    };
    let kept = if state.epoch >= 1 && dir.join("latest_state.safetensors").exists() {
        format!("the checkpoint of epoch {} in {} is kept", state.epoch, dir.display())
    } else {
        "no epoch was completed, nothing was saved".into()
    };
    anyhow::anyhow!(
        "training stopped: the loss became non-finite {when} ({losses}); {kept}; lower --lr or --lambda-l1"
    )
}

/// Every input size the dataset gives, against the model and the memory.
fn check_dataset_sizes(
    o: &TrainOptions,
    data: &super::dataset::AlignedDataset,
    device: &Device,
) -> Result<()> {
    let sizes = data.output_sizes();
    for (&(w, h), path) in sizes {
        let what = format!("{} gives {w}x{h} after --preprocess {}", path.display(), o.preprocess);
        check_input_size(o, w as usize, h as usize, &what)?;
    }
    if o.batch_size > 1 && sizes.len() > 1 {
        let mut it = sizes.iter();
        let ((w0, h0), p0) = it.next().expect("two sizes");
        let ((w1, h1), p1) = it.next().expect("two sizes");
        return Err(usage(format!(
            "--batch-size {}: images differ in size after preprocessing ({} is {w0}x{h0}, {} is {w1}x{h1}): use --batch-size 1 or a cropping --preprocess",
            o.batch_size,
            p0.display(),
            p1.display()
        )));
    }
    if let Some((&(w, h), _)) = sizes.iter().max_by_key(|((w, h), _)| *w as u64 * *h as u64) {
        check_memory(o, w as usize, h as usize, device)?;
    }
    Ok(())
}

/// Mean L1 / PSNR of G on val/ (else test/) when the dataroot has one.
fn validate(o: &TrainOptions, model: &mut Pix2Pix, device: &Device) -> Result<Option<EvalResult>> {
    let Some(root) = &o.dataroot else { return Ok(None) };
    let Some(phase) = ["val", "test"].into_iter().find(|p| root.join(p).is_dir()) else { return Ok(None) };
    let mut eval_opts = o.clone();
    eval_opts.no_flip = true;
    // As the reference's test: resize to the crop size, no random crop or flip.
    eval_opts.preprocess = super::preprocess::Preprocess::ResizeAndCrop;
    eval_opts.load_size = o.crop_size;
    let data = open_dataset(&eval_opts, phase)?;
    model.g.eval();
    let r = evaluate(&model.g, &data, None, device, None)?;
    model.g.train();
    Ok(Some(r))
}

fn read_history(path: &Path) -> Vec<LossPoint> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some(LossPoint {
                epoch: v["epoch_progress"].as_f64()?,
                g_gan: v["G_GAN"].as_f64()?,
                g_l1: v["G_L1"].as_f64()?,
                d_real: v["D_real"].as_f64()?,
                d_fake: v["D_fake"].as_f64()?,
            })
        })
        .collect()
}
