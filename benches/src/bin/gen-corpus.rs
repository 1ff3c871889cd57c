//! `gen-corpus DIR [--size 1GiB] [--seed N]`: writes the benchmark corpus.
//!
//! Skips the work when `DIR` holds a stamp from a run with the same size and seed.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const STAMP: &str = ".shekara-corpus-stamp";
const USAGE: &str = "usage: gen-corpus DIR [--size 1GiB|512MiB|100MB|…] [--seed N]";

struct Args {
    dir: PathBuf,
    size: u64,
    seed: u64,
}

/// Parses `1GiB`, `512MiB`, `64KiB`, `1GB`, `100MB`, or plain bytes.
fn parse_size(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let (mut size, mut seed) = (1u64 << 30, 1u64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--size" => {
                let v = it
                    .next()
                    .ok_or("--size needs a value, e.g. --size 512MiB")?;
                size =
                    parse_size(&v).ok_or(format!("bad size '{v}': try 1GiB, 512MiB or 100MB"))?;
            }
            "--seed" => {
                let v = it.next().ok_or("--seed needs a number")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("bad seed '{v}': expected a number"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument '{a}'\n{USAGE}")),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    Ok(Args { dir, size, seed })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let stamp_path = args.dir.join(STAMP);
    let want = format!("size={} seed={} generator=1\n", args.size, args.seed);
    if let Ok(have) = std::fs::read_to_string(&stamp_path) {
        if have.starts_with(&want) {
            eprintln!(
                "gen-corpus: {} is up to date ({})",
                args.dir.display(),
                want.trim()
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "gen-corpus: {} holds another corpus: remove it first",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    let t = Instant::now();
    let stats = match shekara_benches::generate(&args.dir, args.size, args.seed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen-corpus: cannot write {}: {e}", args.dir.display());
            return ExitCode::from(2);
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let gib = stats.bytes as f64 / f64::from(1u32 << 30);
    let summary = format!(
        "files={} bytes={} twelve_digit_runs={} valid_iins={} valid_bins={} endpoints={} magics={}\n\
         per_gib: twelve_digit_runs={:.0} endpoints={:.0} magics={:.0}\n",
        stats.files,
        stats.bytes,
        stats.twelve_digit_runs,
        stats.valid_iins,
        stats.valid_bins,
        stats.endpoints,
        stats.magics,
        stats.twelve_digit_runs as f64 / gib,
        stats.endpoints as f64 / gib,
        stats.magics as f64 / gib,
    );
    if let Err(e) = std::fs::write(&stamp_path, format!("{want}{summary}")) {
        eprintln!("gen-corpus: cannot write {}: {e}", stamp_path.display());
        return ExitCode::from(2);
    }
    eprint!(
        "gen-corpus: wrote {} in {secs:.1} s\n{summary}",
        args.dir.display()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("100MB"), Some(100_000_000));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 GiB"), None);
    }
}
