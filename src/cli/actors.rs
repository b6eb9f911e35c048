//! `stance actors`: show what names resolve to in the gazetteer.

use anyhow::Result;
use stance::actors::Gazetteer;

/// Arguments of `stance actors`.
#[derive(clap::Args)]
pub struct ActorsArgs {
    /// Names to resolve, e.g. "Washington" "the Kremlin" "Gondor".
    #[arg(required = true)]
    names: Vec<String>,
}

/// Runs `stance actors`.
pub fn run(args: ActorsArgs) -> Result<()> {
    let g = Gazetteer::builtin();
    for name in &args.names {
        let r = g.resolve(name);
        println!(
            "{name:?} → {}",
            if r.display.is_empty() {
                "(nothing)"
            } else {
                &r.display
            }
        );
        for &e in &r.entities {
            let e = g.entity(e);
            println!("  {} [{}] {}", e.id, e.kind, e.name);
            println!("  aliases: {}", e.aliases.join(" | "));
        }
        for l in &r.literals {
            println!(
                "  not in the gazetteer: matched literally as the words \"{}\"",
                l.join(" ")
            );
        }
    }
    Ok(())
}
