//! The `stance` command: parses arguments, calls the library, prints. See `src/cli/`.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
