//! The command line: clap definitions, one small function per command that validates,
//! calls the library and prints. Nothing below this layer prints results.

pub mod bench;
pub mod cyclegan;
pub mod device;
pub mod info;
pub mod pix2pix;
pub mod pix2pix_args;
pub mod stylize;

/// Prints a line of results to stdout, ignoring a closed pipe (`engine ... | head`): what
/// the command made is already written, and a panic there would help nobody.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
