//! `stance actors`: show what names resolve to in the gazetteer.

use anyhow::Result;
use stance::actors::Gazetteer;

/// Arguments of `stance actors`.
#[derive(clap::Args)]
pub struct ActorsArgs {
    /// Names to resolve, e.g. "Washington" "the Kremlin" "Gondor".
    #[arg(required = true)]
    names: Vec<String>,
    /// Resolve as of this date (YYYY-MM-DD): aliases whose meaning changed ("Moscow", "Bonn")
    /// take the meaning they had then. Default: today.
    #[arg(long, value_parser = parse_day)]
    date: Option<chrono::NaiveDate>,
}

fn parse_day(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    stance::article::parse_date(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// Runs `stance actors`.
pub fn run(args: ActorsArgs) -> Result<()> {
    let g = Gazetteer::builtin();
    for name in &args.names {
        let r = g.resolve_at(name, args.date);
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
        for &e in &r.fallback {
            println!(
                "  names {} inside it: its mentions count where the name itself is not found",
                g.entity(e).name
            );
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
