//! The `stance` command: parses arguments, calls the library, prints. See `src/cli/`.

mod cli;

/// Large blocks (the word table, the column maps) on 2 MiB pages: see `stance::large_pages`.
#[global_allocator]
static ALLOC: stance::large_pages::LargePages = stance::large_pages::LargePages;

fn main() {
    std::process::exit(cli::main());
}
