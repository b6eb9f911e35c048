//! The `stance` command: parses arguments, calls the library, prints. See `src/cli/`.

mod cli;
mod large_pages;

/// Large blocks (the word table, the column maps) on 2 MiB pages: see `large_pages.rs`.
#[global_allocator]
static ALLOC: large_pages::LargePages = large_pages::LargePages;

fn main() {
    std::process::exit(cli::main());
}
