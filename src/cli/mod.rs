//! The command line: clap definitions, one small function per command that validates,
//! calls the library and prints. Nothing below this layer prints results.

pub mod bench;
pub mod device;
pub mod info;
pub mod pix2pix;
pub mod pix2pix_args;
pub mod stylize;
