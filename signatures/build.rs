//! Converts the rule data from TOML to JSON at build time.
//!
//! The TOML files stay the source (people edit them, and the ruleset digest
//! is computed over their bytes); the binary parses the JSON form at start,
//! which costs a fraction of parsing the TOML (every run pays it, a
//! pre-commit hook on a two-line change included). A unit test checks that
//! both forms give the same ruleset.

use std::path::Path;

const FILES: [&str; 4] = ["rules", "endpoints", "legal", "biometric"];

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in FILES {
        let src = format!("data/{name}.toml");
        println!("cargo:rerun-if-changed={src}");
        let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        // A file that does not parse is left for the TOML parser to report
        // at run time, with its line (the unit tests load the TOML too).
        let json = match toml::from_str::<toml::Value>(&text) {
            Ok(v) => serde_json::to_string(&v).expect("TOML values are JSON values"),
            Err(_) => String::new(),
        };
        std::fs::write(Path::new(&out).join(format!("{name}.json")), json)
            .unwrap_or_else(|e| panic!("writing {name}.json: {e}"));
    }
}
