//! The residency policy: `shekara.toml`.
//!
//! A policy is applied after detection, to each file's findings: endpoint
//! findings are reclassified by their `host` and `provider` attributes (the
//! detectors are never rebuilt), and rule severities are overridden. The
//! CLI also takes its ignore globs, `fail_on` default and baseline from it.
//! Unknown keys are an error that names the line.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shekara_detectors::{Kind, Severity};

use crate::model::Finding;

/// The file name looked up from the scan root upward.
pub const FILE_NAME: &str = "shekara.toml";

/// A commented default policy, written by `shekara policy init`.
pub const DEFAULT_TOML: &str = r#"# shekara residency policy. Looked up from the scan root upward, or given
# with --config FILE. Unknown keys are an error. Every key is optional.

# Exit 1 when a finding is at least this severe (info, low, medium, high,
# critical); --fail-on on the command line wins.
# fail_on = "high"

# Accepted findings (see `shekara baseline create`), relative to this file.
# baseline = "shekara-baseline.toml"

# Paths (globs relative to the scan root) left out of the scan; they are
# listed in coverage as `excluded`.
ignore = []

# Endpoints that are in Kazakhstan although the built-in table does not know
# them: their findings become `domestic_endpoint`.
[in_country]
# Exact host names.
hosts = []
# Host suffixes, e.g. ".corp.kz" (a leading dot matches subdomains only).
suffixes = []
# IP ranges, e.g. "10.0.0.0/8", for endpoints given by address.
cidrs = []

# Providers treated as foreign even where they have a data centre in
# Kazakhstan (e.g. the operator is abroad): their findings become
# `foreign_endpoint`. Names as in the `provider` attribute.
[foreign]
providers = []

# Severity per rule id, e.g. "kz.bin" = "info", "endpoint.foreign" = "high".
[severity]

# Breach-notification windows (ISO 8601 durations): biometric data 3 hours,
# other personal data 1 business day (Law No. 94-V as amended).
[breach]
biometric = "PT3H"
personal = "P1D"
personal_business_days = true
"#;

/// Endpoints to count as in Kazakhstan.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InCountry {
    /// Exact host names.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Host suffixes.
    #[serde(default)]
    pub suffixes: Vec<String>,
    /// CIDR ranges.
    #[serde(default)]
    pub cidrs: Vec<String>,
}

/// Providers to count as foreign.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Foreign {
    /// Provider names (the `provider` attribute), compared case-insensitively.
    #[serde(default)]
    pub providers: Vec<String>,
}

/// Breach-notification windows.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Breach {
    /// For biometric data (ISO 8601 duration: `PT<n>H` or `P<n>D`).
    #[serde(default = "default_biometric")]
    pub biometric: String,
    /// For other personal data.
    #[serde(default = "default_personal")]
    pub personal: String,
    /// Whether the personal window counts business days (Saturday and Sunday skipped).
    #[serde(default = "yes")]
    pub personal_business_days: bool,
}

fn default_biometric() -> String {
    "PT3H".into()
}
fn default_personal() -> String {
    "P1D".into()
}
fn yes() -> bool {
    true
}

impl Default for Breach {
    fn default() -> Breach {
        Breach {
            biometric: default_biometric(),
            personal: default_personal(),
            personal_business_days: true,
        }
    }
}

/// The settings of a `shekara.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Default `--fail-on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<String>,
    /// Baseline file, relative to the policy file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Globs left out of the scan.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// In-country additions.
    #[serde(default)]
    pub in_country: InCountry,
    /// Providers forced foreign.
    #[serde(default)]
    pub foreign: Foreign,
    /// Severity per rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// Breach windows.
    #[serde(default)]
    pub breach: Breach,
}

/// A loaded, checked policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Where it came from: a path, or `builtin`.
    pub source: String,
    /// `sha256:<hex>` of the policy file's bytes (of [`DEFAULT_TOML`] for the built-in one).
    pub digest: String,
    /// The settings.
    pub settings: Settings,
    fail_on: Option<Severity>,
    severity: BTreeMap<String, Severity>,
    cidrs: Vec<(IpAddr, u8)>,
}

/// A policy that could not be used.
#[derive(Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The file.
    pub path: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

/// `sha256:<hex>` of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl Policy {
    /// The built-in policy (no in-country additions, default windows).
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_TOML, "builtin").unwrap_or_else(|_| Policy {
            source: "builtin".into(),
            digest: sha256_hex(DEFAULT_TOML.as_bytes()),
            settings: Settings::default(),
            fail_on: None,
            severity: BTreeMap::new(),
            cidrs: Vec::new(),
        })
    }

    /// Parses policy text; `source` names it in errors.
    ///
    /// # Errors
    /// Bad TOML, unknown keys, bad severities, CIDRs or durations, each with its line.
    pub fn parse(text: &str, source: &str) -> Result<Policy, PolicyError> {
        let err = |line: Option<usize>, message: String| PolicyError {
            path: source.to_string(),
            line,
            message,
        };
        let settings: Settings = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            err(line, e.message().trim().to_string())
        })?;
        let find = |needle: &str| text.find(needle).map(|at| line_of(text, at));
        let fail_on = match &settings.fail_on {
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                err(
                    find("fail_on"),
                    format!(
                        "fail_on = '{s}' is not a severity (info, low, medium, high, critical)"
                    ),
                )
            })?),
            None => None,
        };
        let mut severity = BTreeMap::new();
        for (rule, s) in &settings.severity {
            let v = Severity::parse(s).ok_or_else(|| {
                err(
                    find(rule),
                    format!("severity '{s}' for rule {rule} is not one of info, low, medium, high, critical"),
                )
            })?;
            severity.insert(rule.clone(), v);
        }
        let mut cidrs = Vec::new();
        for c in &settings.in_country.cidrs {
            cidrs.push(parse_cidr(c).ok_or_else(|| {
                err(
                    find(c),
                    format!("'{c}' is not a CIDR range (e.g. 10.0.0.0/8)"),
                )
            })?);
        }
        for (name, d) in [
            ("biometric", &settings.breach.biometric),
            ("personal", &settings.breach.personal),
        ] {
            if parse_duration(d).is_none() {
                return Err(err(
                    find(d),
                    format!("breach.{name} = '{d}' is not a duration like PT3H or P1D"),
                ));
            }
        }
        Ok(Policy {
            source: source.to_string(),
            digest: sha256_hex(text.as_bytes()),
            settings,
            fail_on,
            severity,
            cidrs,
        })
    }

    /// Reads and parses a policy file.
    ///
    /// # Errors
    /// As [`Policy::parse`], or when the file cannot be read.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            path: path.display().to_string(),
            line: None,
            message: format!("cannot read the policy: {e}"),
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// `shekara.toml` in `start` (or its folder, for a file) or the nearest ancestor.
    pub fn find(start: &Path) -> Option<PathBuf> {
        let abs = std::fs::canonicalize(start).ok()?;
        let mut dir = if abs.is_dir() {
            abs
        } else {
            abs.parent()?.to_path_buf()
        };
        loop {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Some(candidate);
            }
            if !dir.pop() {
                return None;
            }
        }
    }

    /// The `fail_on` default this policy sets.
    pub fn fail_on(&self) -> Option<Severity> {
        self.fail_on
    }

    /// The breach window for biometric (`true`) or other personal data: (hours, business days?).
    pub fn breach_window(&self, biometric: bool) -> (String, u64, bool) {
        let b = &self.settings.breach;
        if biometric {
            let h = parse_duration(&b.biometric).unwrap_or(3);
            (b.biometric.clone(), h, false)
        } else {
            let h = parse_duration(&b.personal).unwrap_or(24);
            (b.personal.clone(), h, b.personal_business_days)
        }
    }

    /// Reclassifies endpoint findings and overrides severities, in place.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings.iter_mut() {
            self.reclassify(f);
            if let Some(s) = self.severity.get(&*f.rule) {
                f.severity = *s;
            }
        }
    }

    fn reclassify(&self, f: &mut Finding) {
        match f.kind {
            Kind::ForeignEndpoint => {
                if let Some(why) = self.in_country(f) {
                    f.kind = Kind::DomesticEndpoint;
                    f.severity = kind_severity(Kind::DomesticEndpoint, f.severity);
                    f.attributes.insert("policy", why);
                }
            }
            // No provider is forced foreign (the built-in policy): nothing to look up.
            Kind::DomesticEndpoint if self.settings.foreign.providers.is_empty() => {}
            Kind::DomesticEndpoint => {
                let provider = f.attributes.get("provider").unwrap_or_default().to_string();
                let forced = self
                    .settings
                    .foreign
                    .providers
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&provider));
                if forced {
                    f.kind = Kind::ForeignEndpoint;
                    f.severity = kind_severity(Kind::ForeignEndpoint, f.severity);
                    f.attributes.insert(
                        "policy",
                        format!("foreign: provider '{provider}' is in foreign.providers"),
                    );
                }
            }
            _ => {}
        }
    }

    fn in_country(&self, f: &Finding) -> Option<String> {
        let ic = &self.settings.in_country;
        // No in-country list (the built-in policy): no host to look at.
        if ic.hosts.is_empty() && ic.suffixes.is_empty() && self.cidrs.is_empty() {
            return None;
        }
        let host = f.attributes.get("host")?.to_ascii_lowercase();
        if ic.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            return Some(format!("in_country: host '{host}' is in in_country.hosts"));
        }
        for s in &ic.suffixes {
            let s = s.to_ascii_lowercase();
            let matches = if s.starts_with('.') {
                host.ends_with(&s)
            } else {
                host == s || host.ends_with(&format!(".{s}"))
            };
            if matches {
                return Some(format!("in_country: host '{host}' matches suffix '{s}'"));
            }
        }
        let ip: IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let hit = self
            .settings
            .in_country
            .cidrs
            .iter()
            .zip(&self.cidrs)
            .find(|(_, (net, len))| in_cidr(ip, *net, *len))?;
        Some(format!("in_country: address {ip} is in {}", hit.0))
    }
}

/// The default severity of a kind's rule, or `fallback`.
fn kind_severity(kind: Kind, fallback: Severity) -> Severity {
    shekara_signatures::Ruleset::builtin()
        .rules
        .iter()
        .find(|r| r.kind == kind && r.id.starts_with("endpoint."))
        .map_or(fallback, |r| r.severity)
}

fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()
        .get(..at.min(text.len()))
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// Parses `PT<n>H` or `P<n>D` into hours.
pub fn parse_duration(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("PT").and_then(|r| r.strip_suffix('H')) {
        return h.parse().ok();
    }
    let d: u64 = s.strip_prefix('P')?.strip_suffix('D')?.parse().ok()?;
    d.checked_mul(24)
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn in_cidr(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let bits = |a: IpAddr| -> (u128, u32) {
        match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    };
    let ((a, wa), (n, wn)) = (bits(ip), bits(net));
    if wa != wn {
        return false;
    }
    let shift = wa - u32::from(len);
    shift >= wa || (a >> shift) == (n >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Evidence, Location};
    use shekara_detectors::Confidence;

    fn endpoint(kind: Kind, host: &str, provider: &str) -> Finding {
        let mut attributes = shekara_detectors::Attributes::new();
        attributes.insert("host", host.to_string());
        attributes.insert("provider", provider.to_string());
        Finding {
            kind,
            rule: "endpoint.x".into(),
            severity: Severity::Medium,
            confidence: Confidence::High,
            location: Location::at("a", 0),
            count: 1,
            evidence: Evidence {
                masked: host.into(),
                fingerprint: "bk3:0".into(),
                raw: None,
            },
            attributes,
            breach_notification: None,
        }
    }

    #[test]
    fn the_default_policy_parses() {
        let p = Policy::builtin();
        assert_eq!(p.source, "builtin");
        assert_eq!(p.settings.breach.biometric, "PT3H");
        assert_eq!(p.breach_window(true).1, 3);
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let e =
            Policy::parse("ignore = []\n\n[in_country]\nhostz = [\"a\"]\n", "p.toml").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("hostz"), "{e}");
        let e = Policy::parse("fail_on = \"severe\"\n", "p.toml").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = Policy::parse("[in_country]\ncidrs = [\"10.0.0.0/99\"]\n", "p.toml").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn hosts_suffixes_and_cidrs_make_endpoints_domestic() {
        let p = Policy::parse(
            "[in_country]\nhosts=[\"minio.bank.example\"]\nsuffixes=[\".corp.kz\"]\ncidrs=[\"10.1.0.0/16\"]\n[foreign]\nproviders=[\"VK Cloud\"]\n[severity]\n\"endpoint.x\"=\"critical\"\n",
            "t",
        )
        .unwrap();
        let mut f = vec![
            endpoint(Kind::ForeignEndpoint, "MINIO.bank.example", "MinIO"),
            endpoint(Kind::ForeignEndpoint, "s3.corp.kz", "MinIO"),
            endpoint(Kind::ForeignEndpoint, "10.1.2.3", "MinIO"),
            endpoint(Kind::ForeignEndpoint, "10.2.2.3", "MinIO"),
            endpoint(Kind::ForeignEndpoint, "corp.kz.evil.com", "MinIO"),
            endpoint(Kind::DomesticEndpoint, "kz.vkcloud", "VK Cloud"),
        ];
        p.apply(&mut f);
        let kinds: Vec<Kind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::DomesticEndpoint,
                Kind::DomesticEndpoint,
                Kind::DomesticEndpoint,
                Kind::ForeignEndpoint,
                Kind::ForeignEndpoint,
                Kind::ForeignEndpoint
            ]
        );
        assert!(f[0].attributes["policy"].contains("in_country.hosts"));
        assert!(f.iter().all(|f| f.severity == Severity::Critical));
    }

    /// Any one in-country list is looked at on its own; with none (the
    /// built-in policy) endpoints stay as the detectors classed them.
    #[test]
    fn each_in_country_list_on_its_own() {
        for (list, host) in [
            ("hosts=[\"minio.bank.example\"]", "MINIO.bank.example"),
            ("suffixes=[\".corp.kz\"]", "s3.corp.kz"),
            ("cidrs=[\"10.1.0.0/16\"]", "10.1.2.3"),
        ] {
            let p = Policy::parse(&format!("[in_country]\n{list}\n"), "t").unwrap();
            let mut f = vec![endpoint(Kind::ForeignEndpoint, host, "MinIO")];
            p.apply(&mut f);
            assert_eq!(f[0].kind, Kind::DomesticEndpoint, "{list}");
            let before = endpoint(Kind::ForeignEndpoint, host, "MinIO");
            let mut f = vec![
                before.clone(),
                endpoint(Kind::DomesticEndpoint, "kz.vkcloud", "VK Cloud"),
            ];
            Policy::builtin().apply(&mut f);
            assert_eq!(f[0], before);
            assert_eq!(f[1].kind, Kind::DomesticEndpoint);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT3H"), Some(3));
        assert_eq!(parse_duration("P1D"), Some(24));
        assert_eq!(parse_duration("3 hours"), None);
    }
}
