//! The image pool of the reference (`util/image_pool.py`, Shrivastava et al.): a history of
//! generated images that D sees instead of only the newest. Per image of a batch: until the
//! pool is full, store it and return it; then, with probability 1/2, return a stored image
//! chosen uniformly and store the new one in its place, else return the new one. Size 0
//! returns the batch unchanged. The random stream is our seeded `Rng`; its state and the
//! stored images are part of the resume state, so a resumed run draws the same.

use crate::autograd::no_grad;
use crate::pix2pix::rng::Rng;
use crate::tensor::{Device, Tensor};
use anyhow::{ensure, Result};

pub struct ImagePool {
    size: usize,
    /// Stored images, each [1, c, h, w], detached.
    images: Vec<Tensor>,
    rng: Rng,
}

/// What a pool holds, on the host (for the resume state).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolState {
    pub rng: u64,
    /// (shape, data) of each stored image, in pool order.
    pub images: Vec<(Vec<usize>, Vec<f32>)>,
}

impl ImagePool {
    pub fn new(size: usize, seed: u64, stream: u64) -> ImagePool {
        ImagePool { size, images: Vec::new(), rng: Rng::derive(seed, stream) }
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The images D should see for this batch of generated images (detached).
    pub fn query(&mut self, images: &Tensor) -> Tensor {
        let _guard = no_grad();
        let images = images.detach();
        if self.size == 0 {
            return images;
        }
        let (n, c, h, w) = images.dims4();
        let one = |i: usize| {
            if n == 1 {
                images.clone()
            } else {
                images.reshape(&[1, n * c, h, w]).narrow_channels(i * c, c)
            }
        };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let image = one(i);
            if self.images.len() < self.size {
                self.images.push(image.clone());
                out.push(image);
            } else if self.rng.next_f64() > 0.5 {
                let k = self.rng.below(self.size as u64) as usize;
                out.push(std::mem::replace(&mut self.images[k], image));
            } else {
                out.push(image);
            }
        }
        if n == 1 {
            return out.pop().expect("one image");
        }
        let refs: Vec<&Tensor> = out.iter().collect();
        let (oh, ow) = (out[0].shape()[2], out[0].shape()[3]);
        Tensor::cat_channels(&refs).reshape(&[n, c, oh, ow])
    }

    pub fn state(&self) -> PoolState {
        PoolState {
            rng: self.rng.state(),
            images: self.images.iter().map(|t| (t.shape().to_vec(), t.to_vec_f32())).collect(),
        }
    }

    pub fn load_state(&mut self, s: &PoolState, device: &Device) -> Result<()> {
        ensure!(
            s.images.len() <= self.size,
            "the saved image pool holds {} images, more than --pool-size {}",
            s.images.len(),
            self.size
        );
        self.rng = Rng::from_state(s.rng);
        self.images = s.images.iter().map(|(shape, data)| Tensor::from_f32(data, shape, device)).collect();
        Ok(())
    }
}
