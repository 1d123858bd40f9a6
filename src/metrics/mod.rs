//! Image-quality figures for translated images: the paper's colour-distribution analysis
//! (Isola et al. 2017, section 4.3: marginal histograms in Lab space and their
//! intersection with the ground truth's) and SSIM (Wang et al. 2004). Inputs are
//! planar RGB images (`[3, H, W]`, pixels in [-1, 1], as the generators produce them).

mod colour;
mod ssim;

pub use colour::{lab_histograms, log_probability_svg, srgb_to_lab, LabHistograms, LAB_CHANNELS};
pub use ssim::ssim;
