//! Reading and writing files: checkpoints (safetensors, PyTorch `.pth`).

pub mod checkpoint;
pub mod pth;
