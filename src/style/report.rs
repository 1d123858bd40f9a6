//! The final report of a run: printed at the end and written as JSON next to the output
//! (`OUT.json` for `OUT.png`).

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Weighted loss terms: `total = content + style + tv`, where content is alpha times the
/// content loss, style beta times the style loss and tv tv_weight times TV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Losses {
    pub total: f64,
    pub content: f64,
    pub style: f64,
    pub tv: f64,
}

impl Losses {
    pub fn is_finite(&self) -> bool {
        self.total.is_finite()
    }
}

impl std::fmt::Display for Losses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "total {:.4e}  content {:.4e}  style {:.4e}  tv {:.4e}",
            self.total, self.content, self.style, self.tv
        )
    }
}

/// One resolution of a coarse-to-fine run (a single entry without `--scales`).
#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    /// [height, width] of the optimised image at this scale.
    pub size: [usize; 2],
    /// Optimiser iterations done at this scale.
    pub iterations: usize,
    /// Loss-and-gradient evaluations (forward + backward through VGG).
    pub evaluations: usize,
    pub seconds: f64,
    pub initial_losses: Losses,
    pub final_losses: Losses,
    /// Why the optimiser stopped at this scale.
    pub stop_reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct StyleReport {
    pub content: PathBuf,
    pub styles: Vec<PathBuf>,
    pub style_blend_weights: Vec<f64>,
    pub output: PathBuf,
    pub vgg: PathBuf,
    pub device: String,
    pub optimizer: String,
    pub alpha: f64,
    pub beta: f64,
    pub tv_weight: f64,
    pub content_layers: Vec<String>,
    pub style_layers: Vec<String>,
    pub style_layer_weights: Vec<f64>,
    pub seed: u64,
    /// [height, width] of the output.
    pub size: [usize; 2],
    /// Total over all scales.
    pub iterations: usize,
    pub evaluations: usize,
    /// Wall time of the whole run, loading included.
    pub seconds: f64,
    /// Losses of the final image at the final scale (before `--original-colors`).
    pub final_losses: Losses,
    /// Why the optimiser stopped at the last scale.
    pub stop_reason: String,
    pub scales: Vec<ScaleReport>,
    /// Intermediate images written by `--save-every`.
    pub saved: Vec<PathBuf>,
}

/// `dir/name.png` -> `dir/name.json`.
pub fn report_path(output: &Path) -> PathBuf {
    output.with_extension("json")
}

impl StyleReport {
    /// Writes the JSON report atomically next to the output image.
    pub fn write_json(&self) -> Result<PathBuf> {
        let path = report_path(&self.output);
        let text = serde_json::to_string_pretty(self).expect("report serialises");
        crate::io::atomic::write_bytes_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write the report", path.display()))?;
        Ok(path)
    }

    /// A few human-readable lines for the end of the run.
    pub fn summary(&self) -> String {
        format!(
            "wrote {} ({}x{}) in {:.1} s: {} iterations, {} evaluations; stopped: {}\nfinal losses: {}",
            self.output.display(),
            self.size[1],
            self.size[0],
            self.seconds,
            self.iterations,
            self.evaluations,
            self.stop_reason,
            self.final_losses
        )
    }
}
