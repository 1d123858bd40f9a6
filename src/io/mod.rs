//! Files in and out: images, atomic writes, downloads.

pub mod atomic;
pub mod download;
pub mod image;
