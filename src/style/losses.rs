//! The losses of Gatys et al. on feature maps of a frozen network:
//! - content: mean squared error between the image's and the content's features, summed
//!   over the content layers;
//! - style: sum over the style layers of w_l * mean squared difference of the Gram
//!   matrices (normalised by C*H*W), i.e. the squared Frobenius distance / C^2;
//! - TV: mean squared difference of neighbouring pixels (our `tv_loss`), on the image in
//!   [0, 1];
//! - total = alpha * content + beta * style + tv_weight * TV.
//!
//! This is the normalisation of jcjohnson/neural-style (nn.MSECriterion, Gram / (C*H*W)).

use super::report::Losses;
use crate::nn::Vgg19;
use crate::tensor::{Device, Tensor};

/// A frozen feature extractor: features of an RGB image in [0, 1] ([1, 3, H, W]) at
/// the named layers, in the order asked.
pub trait FeatureNet {
    fn features(&self, image: &Tensor, layers: &[String]) -> Vec<Tensor>;
}

/// VGG-19 on images in [0, 1]: ImageNet normalisation, then the taps.
impl FeatureNet for Vgg19 {
    fn features(&self, image: &Tensor, layers: &[String]) -> Vec<Tensor> {
        let names: Vec<&str> = layers.iter().map(String::as_str).collect();
        self.forward_taps(&Vgg19::normalize(image), &names).into_iter().map(|(_, t)| t).collect()
    }
}

/// Sum of a list of scalar tensors (None when empty).
fn sum(terms: impl IntoIterator<Item = Tensor>) -> Option<Tensor> {
    terms.into_iter().reduce(|a, b| a.add(&b))
}

/// Sum over layers of mse(features, target).
pub fn content_loss(features: &[Tensor], targets: &[Tensor]) -> Option<Tensor> {
    assert_eq!(
        features.len(),
        targets.len(),
        "content_loss: {} feature maps for {} targets",
        features.len(),
        targets.len()
    );
    sum(features.iter().zip(targets).map(|(f, t)| f.mse_loss(t)))
}

/// Sum over layers of weight * mse(gram(features), target gram).
pub fn style_loss(features: &[Tensor], target_grams: &[Tensor], weights: &[f64]) -> Option<Tensor> {
    assert!(
        features.len() == target_grams.len() && features.len() == weights.len(),
        "style_loss: {} feature maps, {} targets, {} weights",
        features.len(),
        target_grams.len(),
        weights.len()
    );
    sum(features.iter().zip(target_grams).zip(weights).map(|((f, g), &w)| f.gram().mse_loss(g).scale(w)))
}

/// The loss weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub alpha: f64,
    pub beta: f64,
    pub tv: f64,
    /// One per style layer.
    pub style_layers: Vec<f64>,
}

/// Content features and blended style Gram matrices, fixed for one resolution.
pub struct Targets {
    pub content: Vec<Tensor>,
    pub grams: Vec<Tensor>,
}

/// The objective of one resolution: the network, the layers, the weights and the targets.
pub struct Objective<'a> {
    net: &'a dyn FeatureNet,
    content_layers: Vec<String>,
    style_layers: Vec<String>,
    /// content_layers then style_layers, without repeats: one forward pass gives all.
    taps: Vec<String>,
    weights: Weights,
    targets: Targets,
    device: Device,
}

/// The scalar terms of one evaluation (each already multiplied by its weight).
pub struct Terms {
    pub total: Tensor,
    pub content: Option<Tensor>,
    pub style: Option<Tensor>,
    pub tv: Option<Tensor>,
}

impl Terms {
    /// Host values (synchronises with the device).
    pub fn values(&self) -> Losses {
        let v = |t: &Option<Tensor>| t.as_ref().map_or(0.0, Tensor::item);
        Losses { total: self.total.item(), content: v(&self.content), style: v(&self.style), tv: v(&self.tv) }
    }
}

impl<'a> Objective<'a> {
    /// Computes the targets: the content's features, and for the styles (image, blend
    /// weight) the blend-weighted sum of their Gram matrices (jcjohnson/neural-style).
    pub fn new(
        net: &'a dyn FeatureNet,
        content_layers: &[String],
        style_layers: &[String],
        weights: Weights,
        content: &Tensor,
        styles: &[(Tensor, f64)],
    ) -> Objective<'a> {
        assert_eq!(weights.style_layers.len(), style_layers.len(), "one weight per style layer");
        let mut taps: Vec<String> = Vec::new();
        for l in content_layers.iter().chain(style_layers) {
            if !taps.contains(l) {
                taps.push(l.clone());
            }
        }
        let _guard = crate::autograd::no_grad();
        let content_targets =
            if content_layers.is_empty() { Vec::new() } else { net.features(content, content_layers) };
        let mut grams: Vec<Tensor> = Vec::new();
        if !style_layers.is_empty() {
            for (image, w) in styles {
                let g: Vec<Tensor> =
                    net.features(image, style_layers).iter().map(|f| f.gram().scale(*w)).collect();
                grams =
                    if grams.is_empty() { g } else { grams.iter().zip(&g).map(|(a, b)| a.add(b)).collect() };
            }
        }
        let targets = Targets {
            content: content_targets.iter().map(Tensor::detach).collect(),
            grams: grams.iter().map(Tensor::detach).collect(),
        };
        Objective {
            net,
            content_layers: content_layers.to_vec(),
            style_layers: style_layers.to_vec(),
            taps,
            weights,
            targets,
            device: content.device().clone(),
        }
    }

    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The weighted loss terms at `image` ([1, 3, H, W] in [0, 1]), recorded for backward
    /// when the image requires grad.
    pub fn eval(&self, image: &Tensor) -> Terms {
        let feats = self.net.features(image, &self.taps);
        let pick = |layers: &[String]| -> Vec<Tensor> {
            layers.iter().map(|l| feats[self.taps.iter().position(|t| t == l).unwrap()].clone()).collect()
        };
        let w = &self.weights;
        let content = if w.alpha > 0.0 {
            content_loss(&pick(&self.content_layers), &self.targets.content).map(|t| t.scale(w.alpha))
        } else {
            None
        };
        let style = if w.beta > 0.0 {
            style_loss(&pick(&self.style_layers), &self.targets.grams, &w.style_layers)
                .map(|t| t.scale(w.beta))
        } else {
            None
        };
        let tv = (w.tv > 0.0).then(|| image.tv_loss().scale(w.tv));
        let total = sum([&content, &style, &tv].into_iter().flatten().cloned())
            .unwrap_or_else(|| Tensor::scalar(0.0, image.dtype(), image.device()));
        Terms { total, content, style, tv }
    }

    /// Loss and gradient w.r.t. the image at `pixels` (CHW in [0, 1], f32).
    pub fn loss_and_grad(&self, pixels: &[f32], shape: &[usize]) -> (Losses, Vec<f32>) {
        let x = Tensor::from_f32(pixels, shape, &self.device);
        x.set_requires_grad(true);
        let terms = self.eval(&x);
        let grads = terms.total.backward();
        let g = grads.get(&x).map(Tensor::to_vec_f32).unwrap_or_else(|| vec![0.0; pixels.len()]);
        (terms.values(), g)
    }
}
