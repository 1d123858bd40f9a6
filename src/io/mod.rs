//! Files in and out: images, atomic writes, downloads, checkpoints (safetensors, PyTorch `.pth`).

pub mod atomic;
pub mod checkpoint;
pub mod download;
pub mod image;
pub mod resize;
