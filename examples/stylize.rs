//! `engine stylize` / `engine fetch-vgg` with the same flags, before they are wired into
//! the binary: `cargo run --release --example stylize -- stylize --content C --style S`.

#[path = "../src/cli/stylize.rs"]
mod stylize;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Stylize(Box<stylize::StylizeArgs>),
    FetchVgg(stylize::FetchVggArgs),
}

fn main() {
    let result = match Cli::parse().command {
        Command::Stylize(args) => stylize::run(*args, &engine::Device::cpu()),
        Command::FetchVgg(args) => stylize::run_fetch_vgg(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
