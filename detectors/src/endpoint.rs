//! Endpoint detection: hosts, URI schemes and ARNs mapped to provider, region and country.
//!
//! The endpoint table (`signatures/data/endpoints.toml`) lists, per provider
//! service, host patterns, URI schemes (`s3://`) and literal prefixes
//! (`arn:aws:s3:`). The first entry that matches wins.
//!
//! # Host patterns
//! Dot-separated labels, matched right to left against the lower-cased host.
//! A leftmost `*` matches one or more labels. Any other label is either
//! literal or holds one placeholder, optionally with a literal prefix and
//! suffix in the same label (`s3-{region}`, `{region}-aiplatform`):
//! - `{region}`: captured and mapped to a country through the entry's region
//!   table; a region missing from the table makes the pattern not match;
//! - `{service}`: captured into the `service` attribute;
//! - `{any}`: matched, not captured.
//!
//! Placeholder text is one or more of `[a-z0-9-]`.
//!
//! ```
//! use shekara_detectors::endpoint::HostPattern;
//! let p = HostPattern::parse("*.s3.{region}.amazonaws.com").unwrap();
//! let caps = p.matches("data.s3.eu-central-1.amazonaws.com").unwrap();
//! assert_eq!(caps.region, Some("eu-central-1"));
//! assert!(p.matches("s3.eu-central-1.amazonaws.com").is_none());
//! assert_eq!(p.anchor(), "amazonaws.com");
//! ```
//!
//! # Anchors
//! For each host pattern the rightmost run of literal labels, at most three
//! (`amazonaws.com`, `core.windows.net`),
//! de-duplicated (an anchor that contains another is dropped), plus every
//! scheme and prefix verbatim. At an anchor inside a host, the detector takes
//! the maximal run of host bytes around it and requires a pattern to match
//! that whole host, so `s3.amazonaws.com.example.org` is not an endpoint.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use shekara_signatures::{Confidence, Endpoint, Kind, Ruleset, Severity};

use crate::attributes::Value;
use crate::hash::{recall, remember, slot_of, Slots};
use crate::{Attributes, Detector, Haystack, RawFinding};

/// Longest host name (RFC 1035), plus one for a trailing dot.
const MAX_HOST: usize = 254;

/// Longest scheme authority or ARN tail the detector reads.
const MAX_AUTHORITY: usize = 512;

/// Most labels in a host anchor: the registrable domain (`windows.net`,
/// `azure.com`) is shared by many patterns, which keeps the prefilter within
/// the 64 literals its SIMD (Teddy) path accepts; the host parse after a hit
/// is cheap.
const MAX_ANCHOR_LABELS: usize = 2;

/// Every scheme is found through this one anchor, then read backwards.
const SCHEME_SEPARATOR: &str = "://";

/// The category whose hosts are anchored bare (see `host_anchors`).
const STORAGE: &str = "object_storage";

/// Every ARN prefix starts with this anchor.
const ARN_ANCHOR: &str = "arn:aws";

/// Longest scheme name the detector reads back from `://`.
const MAX_SCHEME: usize = 16;

/// How far back the e-mail check looks for a `://` in the same token.
const MAX_TOKEN_BACK: usize = 256;

/// What a placeholder captures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Region,
    Service,
    Any,
}

/// One label of a host pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Label {
    /// `*`: one or more labels (leftmost only).
    Star,
    /// A literal label.
    Literal(String),
    /// A placeholder with a literal prefix and suffix.
    Hole {
        prefix: String,
        slot: Slot,
        suffix: String,
    },
}

/// A parsed host pattern; see the [module docs](self) for the grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    /// Left to right.
    labels: Vec<Label>,
}

/// What a host pattern captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Captures<'h> {
    /// The `{region}` text, if the pattern has one.
    pub region: Option<&'h str>,
    /// The `{service}` text, if the pattern has one.
    pub service: Option<&'h str>,
}

fn is_label_text(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_slot(name: &str) -> Result<Slot, String> {
    match name {
        "region" => Ok(Slot::Region),
        "service" => Ok(Slot::Service),
        "any" => Ok(Slot::Any),
        _ => Err(format!("unknown placeholder {{{name}}}")),
    }
}

fn parse_label(label: &str) -> Result<Label, String> {
    let Some(open) = label.find('{') else {
        return match !label.is_empty() && is_label_text(label) {
            true => Ok(Label::Literal(label.to_string())),
            false => Err(format!("bad label {label:?}")),
        };
    };
    let close = label
        .find('}')
        .ok_or(format!("unclosed placeholder in {label:?}"))?;
    let (prefix, suffix) = (&label[..open], &label[close + 1..]);
    if close < open || !is_label_text(prefix) || !is_label_text(suffix) {
        return Err(format!("bad placeholder label {label:?}"));
    }
    let slot = parse_slot(&label[open + 1..close])?;
    Ok(Label::Hole {
        prefix: prefix.to_string(),
        slot,
        suffix: suffix.to_string(),
    })
}

/// Matches one host label against a pattern label, recording captures.
fn match_label<'h>(pat: &Label, label: &'h str, caps: &mut Captures<'h>) -> bool {
    match pat {
        Label::Star => false,
        Label::Literal(l) => l == label,
        Label::Hole {
            prefix,
            slot,
            suffix,
        } => {
            let Some(mid) = label
                .strip_prefix(prefix.as_str())
                .and_then(|m| m.strip_suffix(suffix.as_str()))
            else {
                return false;
            };
            if mid.is_empty() || !is_label_text(mid) {
                return false;
            }
            match slot {
                Slot::Region => caps.region = Some(mid),
                Slot::Service => caps.service = Some(mid),
                Slot::Any => {}
            }
            true
        }
    }
}

impl HostPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    /// When a label is empty or holds characters outside `[a-z0-9-]`, a
    /// placeholder is unknown or not closed, `*` is not the leftmost label, or
    /// the rightmost label is not literal (the pattern would have no anchor).
    pub fn parse(pattern: &str) -> Result<HostPattern, String> {
        let mut labels = Vec::new();
        for (i, text) in pattern.split('.').enumerate() {
            labels.push(match text {
                "*" if i == 0 => Label::Star,
                _ => parse_label(text).map_err(|e| format!("{pattern}: {e}"))?,
            });
        }
        if !matches!(labels.last(), Some(Label::Literal(_))) || labels.len() < 2 {
            return Err(format!(
                "{pattern}: the last two labels must end in a literal"
            ));
        }
        Ok(HostPattern { labels })
    }

    /// Matches a whole lower-cased host (no trailing dot); `None` when it does not match.
    pub fn matches<'h>(&self, host: &'h str) -> Option<Captures<'h>> {
        let parts: Vec<&str> = host.split('.').collect();
        self.matches_labels(&parts)
    }

    /// [`HostPattern::matches`] on a host already split at its dots.
    pub fn matches_labels<'h>(&self, parts: &[&'h str]) -> Option<Captures<'h>> {
        let (star, fixed) = match self.labels.split_first() {
            Some((Label::Star, rest)) => (true, rest),
            _ => (false, &self.labels[..]),
        };
        let fits = if star {
            parts.len() > fixed.len()
        } else {
            parts.len() == fixed.len()
        };
        if !fits || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let mut caps = Captures::default();
        let tail = &parts[parts.len() - fixed.len()..];
        // Right to left: the top-level labels reject most hosts first.
        let all = fixed
            .iter()
            .rev()
            .zip(tail.iter().rev())
            .all(|(p, l)| match_label(p, l, &mut caps));
        all.then_some(caps)
    }

    /// The rightmost run of literal labels (at most three), joined with dots: the prefilter anchor.
    pub fn anchor(&self) -> String {
        let literals: Vec<&str> = self
            .labels
            .iter()
            .rev()
            .map_while(|l| match l {
                Label::Literal(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        // Two labels, or three when the second is a generic one (`amazonaws.com.cn`, not `com.cn`).
        let take = match literals.get(1) {
            Some(l) if GENERIC_SECOND_LEVEL.contains(l) => MAX_ANCHOR_LABELS + 1,
            _ => MAX_ANCHOR_LABELS,
        };
        let mut parts: Vec<&str> = literals.into_iter().take(take).collect();
        parts.reverse();
        parts.join(".")
    }

    /// Whether the pattern captures a `{region}`.
    pub fn has_region(&self) -> bool {
        self.labels.iter().any(|l| {
            matches!(
                l,
                Label::Hole {
                    slot: Slot::Region,
                    ..
                }
            )
        })
    }
}

/// Where an endpoint puts data: one resolved entry of the endpoint table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// Rule id, `endpoint.<entry id>`.
    pub rule: String,
    /// Provider name.
    pub provider: String,
    /// Service name (a captured `{service}` if any).
    pub service: String,
    /// Category: `object_storage`, `ai_api`, …
    pub category: String,
    /// Region code, or `unknown`.
    pub region: String,
    /// ISO 3166 alpha-2 country of the data, or `unknown`.
    pub country: String,
    /// Country of the operator, when it differs.
    pub operator_country: Option<String>,
    /// A note from the table.
    pub note: Option<String>,
    /// The entry's severity override.
    pub severity: Option<Severity>,
}

impl Place {
    /// `DomesticEndpoint` when the data stays in Kazakhstan, else `ForeignEndpoint`
    /// (an unknown country counts as foreign).
    pub fn kind(&self) -> Kind {
        match self.country == "KZ" {
            true => Kind::DomesticEndpoint,
            false => Kind::ForeignEndpoint,
        }
    }

    /// The finding attributes for this place, with `host` set to `host`.
    pub fn attributes(&self, host: &str) -> crate::Attributes {
        let mut a = crate::attrs([
            ("provider", self.provider.as_str()),
            ("service", &self.service),
            ("category", &self.category),
            ("host", host),
            ("region", &self.region),
            ("country", &self.country),
        ]);
        let extra = [
            ("operator_country", &self.operator_country),
            ("note", &self.note),
        ];
        for (k, v) in extra {
            if let Some(v) = v {
                a.insert_value(k.into(), v.as_str().into());
            }
        }
        a
    }
}

/// One compiled entry of the endpoint table.
#[derive(Debug)]
struct Entry {
    spec: Endpoint,
    hosts: Vec<HostPattern>,
    regions: BTreeMap<String, Region>,
    /// `endpoint.<id>`, interned: a finding carries it without a copy.
    rule: &'static str,
    /// The attribute values of a finding without captures, stored once.
    values: PlaceValues,
}

/// A region of an entry's table: its country, and both as stored attribute values.
#[derive(Debug)]
struct Region {
    country: String,
    region_value: Value,
    country_value: Value,
}

/// The attribute values of an entry's findings, known when the table loads:
/// a finding copies them (indices, mostly) instead of looking each string up.
#[derive(Debug)]
struct PlaceValues {
    provider: Value,
    service: Value,
    category: Value,
    /// The entry's region when no `{region}` is captured, or `unknown`.
    region: Value,
    /// The entry's country, or `unknown`.
    country: Value,
    /// Whether that country is Kazakhstan.
    domestic: bool,
    operator_country: Option<Value>,
    note: Option<Value>,
}

impl Entry {
    fn new(spec: &Endpoint, rules: &Ruleset) -> Entry {
        let hosts = spec
            .hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h).ok())
            .collect();
        let table = spec
            .region_table
            .as_deref()
            .and_then(|t| rules.region_table(t));
        let regions = table
            .iter()
            .flat_map(|t| t.regions.iter())
            .map(|(r, c)| {
                let region = Region {
                    country: c.clone(),
                    region_value: Value::from(r.as_str()),
                    country_value: Value::from(c.as_str()),
                };
                (r.clone(), region)
            })
            .collect();
        let unknown = || "unknown".to_string();
        let country = spec.country.clone().unwrap_or_else(unknown);
        let values = PlaceValues {
            provider: Value::from(spec.provider.as_str()),
            service: Value::from(spec.service.as_str()),
            category: Value::from(spec.category.as_str()),
            region: Value::from(spec.region.clone().unwrap_or_else(unknown)),
            domestic: country == "KZ",
            country: Value::from(country),
            operator_country: spec.operator_country.as_deref().map(Value::from),
            note: spec.note.as_deref().map(Value::from),
        };
        Entry {
            rule: crate::intern(&format!("endpoint.{}", spec.id)),
            spec: spec.clone(),
            hosts,
            regions,
            values,
        }
    }

    /// The place for a captured region (`None` when the region is not in the
    /// table) and service.
    fn place(&self, region: Option<&str>, service: Option<&str>) -> Option<Place> {
        let unknown = || "unknown".to_string();
        let (region, country) = match region {
            Some(r) => (r.to_string(), self.regions.get(r)?.country.clone()),
            None => (
                self.spec.region.clone().unwrap_or_else(unknown),
                self.spec.country.clone().unwrap_or_else(unknown),
            ),
        };
        Some(Place {
            rule: self.rule.to_string(),
            provider: self.spec.provider.clone(),
            service: service.map_or_else(|| self.spec.service.clone(), str::to_string),
            category: self.spec.category.clone(),
            region,
            country,
            operator_country: self.spec.operator_country.clone(),
            note: self.spec.note.clone(),
            severity: self.spec.severity,
        })
    }

    /// What the first pattern that matches `labels` captured, skipping
    /// patterns whose captured region is not in the table (as [`Entry::place`]
    /// has no place for them).
    fn match_host<'h>(&self, labels: &[&'h str]) -> Option<Captures<'h>> {
        self.hosts.iter().find_map(|p| {
            let caps = p.matches_labels(labels)?;
            let known = caps.region.is_none_or(|r| self.regions.contains_key(r));
            known.then_some(caps)
        })
    }

    /// The finding attributes for these captures and `host`: the same as
    /// `self.place(caps…)?.attributes(host)`, built from stored values.
    fn attributes(&self, caps: Captures<'_>, host: &str, keys: &AttributeNames) -> Attributes {
        let v = &self.values;
        let region = caps.region.and_then(|r| self.regions.get(r));
        let (region, country) = match region {
            Some(r) => (r.region_value.clone(), r.country_value.clone()),
            None => (v.region.clone(), v.country.clone()),
        };
        let service = caps.service.map_or_else(|| v.service.clone(), Value::from);
        let mut pairs = Vec::with_capacity(8);
        pairs.push((keys.category.clone(), v.category.clone()));
        pairs.push((keys.country.clone(), country));
        pairs.push((keys.host.clone(), Value::from(host)));
        if let Some(note) = &v.note {
            pairs.push((keys.note.clone(), note.clone()));
        }
        if let Some(op) = &v.operator_country {
            pairs.push((keys.operator_country.clone(), op.clone()));
        }
        pairs.push((keys.provider.clone(), v.provider.clone()));
        pairs.push((keys.region.clone(), region));
        pairs.push((keys.service.clone(), service));
        Attributes::from_sorted(pairs)
    }

    /// Whether a finding with these captures is domestic (see [`Place::kind`]).
    fn domestic(&self, caps: Captures<'_>) -> bool {
        match caps.region.and_then(|r| self.regions.get(r)) {
            Some(r) => r.country == "KZ",
            None => self.values.domestic,
        }
    }
}

/// Attribute sets an [`Endpoints`] keeps per thread (see [`Endpoints::attributes`]).
const RECENT_SETS: usize = 1024;

/// Hosts an [`Endpoints`] remembers per thread (see [`Endpoints::spot`]).
const SPOTTED: usize = 512;

/// Hosts as they stand in the input whose domain an [`Endpoints`]
/// remembers per thread as in its table or not (see [`Endpoints::known_domain`]).
const KNOWN: usize = 1024;

/// A host [`Endpoints::known_domain`] looked at lately.
struct Known {
    table: u64,
    host: Box<[u8]>,
    known: bool,
}

thread_local! {
    static KNOWN_HOSTS: Slots<Known> = const { Slots::new(Vec::new()) };
}

/// A host [`Endpoints::spot`] worked out lately: the entry and the byte
/// ranges of the region and service captures in the host.
struct Spotted {
    table: u64,
    host: Box<str>,
    found: Option<(usize, Option<Span16>, Option<Span16>)>,
}

/// A capture's byte range in its host (hosts are at most 253 bytes).
type Span16 = (u16, u16);

thread_local! {
    static SPOT: Slots<Spotted> = const { Slots::new(Vec::new()) };
}

/// A recent endpoint finding's attribute set, and what it was made from
/// (its host is the set's `host`).
struct Recent {
    table: u64,
    entry: usize,
    region: Option<Box<str>>,
    service: Option<Box<str>>,
    attributes: Attributes,
}

thread_local! {
    static RECENT: Slots<Recent> = const { Slots::new(Vec::new()) };
}

/// The attribute names of an endpoint finding, stored once.
#[derive(Debug)]
struct AttributeNames {
    category: Value,
    country: Value,
    host: Value,
    note: Value,
    operator_country: Value,
    provider: Value,
    region: Value,
    service: Value,
}

impl AttributeNames {
    fn new() -> AttributeNames {
        AttributeNames {
            category: Value::from("category"),
            country: Value::from("country"),
            host: Value::from("host"),
            note: Value::from("note"),
            operator_country: Value::from("operator_country"),
            provider: Value::from("provider"),
            region: Value::from("region"),
            service: Value::from("service"),
        }
    }
}

/// What an anchor of this detector stands for.
#[derive(Clone, Copy, Debug)]
enum Role {
    Host,
    /// `://`: the scheme before it decides the entry.
    SchemeSeparator,
    /// `arn:aws`: the full prefix after it decides the entry.
    Arn,
}

/// Finds cloud storage, AI API and model-hub endpoints.
#[derive(Debug)]
pub struct Endpoints {
    entries: Vec<Entry>,
    anchors: Vec<Vec<u8>>,
    roles: Vec<Role>,
    /// `scheme://` (lower case) → entry.
    schemes: Vec<(String, usize)>,
    /// Whether a table scheme starts with this byte (lower case): most
    /// `://` in inputs follow `http` or `https`, none of the table's, and
    /// are turned down with one look-up.
    scheme_starts: [bool; 256],
    /// ARN prefix → entry.
    prefixes: Vec<(String, usize)>,
    /// Registrable domain (`amazonaws.com`) → the entries, in table order,
    /// with a host pattern under it: a host is only tried against those.
    suffixes: SuffixMap,
    /// The last two bytes (lower case) of every key of `suffixes`, one bit
    /// per pair: most URL hosts in inputs (`python.org`, `localhost`) end
    /// in a pair no table domain ends in, and are turned down by one look-up
    /// before their registrable domain is worked out or hashed.
    endings: Box<[u64; 1024]>,
    foreign: Severity,
    domestic: Severity,
    names: AttributeNames,
    /// This table's identity among the tables built in this process (the
    /// per-thread attribute sets, [`Endpoints::attributes`], are kept per table).
    id: u64,
    /// Whether a host's finding just made from its URL is not made again at
    /// its host anchor (see [`Endpoints::on_host`]); off only for the
    /// tests' reference.
    skip_repeats: bool,
}

/// Registrable domain → entries. Looked up once per URL host in the input,
/// so it hashes with a few multiplications rather than SipHash: its keys are
/// the table's, and a collision only costs a comparison.
/// Keyed by bytes, so a host read from the input is looked up as it is.
type SuffixMap = HashMap<Box<[u8]>, Vec<usize>, BuildHasherDefault<SuffixHasher>>;

/// FxHash's multiply-rotate step, eight bytes at a time.
#[derive(Default)]
struct SuffixHasher(u64);

impl Hasher for SuffixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

/// Byte classes, one bit each in [`CLASSES`].
const HOST: u8 = 1;
const SCHEME: u8 = 2;
const AUTHORITY: u8 = 4;
const ARN: u8 = 8;

/// The classes of each byte: a table look-up per byte where the runs of
/// hosts and authorities after each `://` are measured.
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if c.is_ascii_alphanumeric() {
            k = HOST | SCHEME | AUTHORITY | ARN;
        }
        k |= match c {
            b'.' | b'-' => HOST | SCHEME | AUTHORITY | ARN,
            b'+' => SCHEME | AUTHORITY,
            b'_' | b':' => AUTHORITY | ARN,
            b'~' | b'%' | b'@' => AUTHORITY,
            _ => 0,
        };
        t[b] = k;
        b += 1;
    }
    t
};

fn in_class(b: u8, class: u8) -> bool {
    CLASSES[usize::from(b)] & class != 0
}

fn is_scheme_byte(b: u8) -> bool {
    in_class(b, SCHEME)
}

/// Length of the run of `class` bytes starting at `from`, up to `max`.
fn run_after(bytes: &[u8], from: usize, max: usize, class: u8) -> usize {
    let tail = bytes.get(from..).unwrap_or_default();
    tail.iter()
        .take(max)
        .take_while(|&&b| in_class(b, class))
        .count()
}

/// Length of the run of `class` bytes ending at `to`, up to `max`.
fn run_before(bytes: &[u8], to: usize, max: usize, class: u8) -> usize {
    let head = bytes.get(..to).unwrap_or_default();
    head.iter()
        .rev()
        .take(max)
        .take_while(|&&b| in_class(b, class))
        .count()
}

/// The registrable part of a host: its last two labels, or three when the
/// second-to-last is a generic one (`amazonaws.com.cn`).
fn registrable(host: &str) -> &str {
    &host[registrable_start(host.as_bytes())..]
}

/// Where [`registrable`] starts in `host`, which may be in any case (the
/// generic labels are matched ignoring case).
fn registrable_start(b: &[u8]) -> usize {
    // Hosts are short: a plain loop beats a SIMD search's set-up.
    let dot_before = |end: usize| b[..end].iter().rposition(|&c| c == b'.');
    let Some(last) = dot_before(b.len()) else {
        return 0;
    };
    let Some(second) = dot_before(last) else {
        return 0;
    };
    let label = &b[second + 1..last];
    let cut = if GENERIC_SECOND_LEVEL
        .iter()
        .any(|g| g.as_bytes().eq_ignore_ascii_case(label))
    {
        dot_before(second)
    } else {
        Some(second)
    };
    cut.map_or(0, |c| c + 1)
}

/// Where the host of a URL authority starting at `from` lies, found in one
/// pass: after the last `@` of the authority (its first [`MAX_AUTHORITY`]
/// bytes of [`AUTHORITY`]), up to the first byte that is not [`HOST`].
/// `None` when that host is empty or longer than [`MAX_HOST`].
fn url_host(bytes: &[u8], from: usize) -> Option<Range<usize>> {
    let tail = bytes.get(from..)?;
    let lim = tail.len().min(MAX_AUTHORITY);
    // Most authorities are a bare host ended by a byte that ends the
    // authority too (`/`, a quote, a space): no `@` can follow, and the host
    // is the run itself, found with one class test a byte. Anything else
    // (userinfo, a port, a run reaching `lim`) takes the full pass below.
    let run = tail[..lim]
        .iter()
        .take_while(|&&b| in_class(b, HOST))
        .count();
    if run < lim && !in_class(tail[run], AUTHORITY) {
        return (run != 0 && run <= MAX_HOST).then_some(from..from + run);
    }
    let (mut start, mut end) = (0, None);
    let mut i = 0;
    while i < lim {
        let b = tail[i];
        let class = CLASSES[usize::from(b)];
        if class & AUTHORITY == 0 {
            break;
        }
        if class & HOST == 0 {
            if b == b'@' {
                (start, end) = (i + 1, None);
            } else if end.is_none() {
                end = Some(i);
            }
        }
        i += 1;
    }
    // A host still running where the authority scan stopped ends at the
    // first byte that is not a host byte.
    let end = end.unwrap_or_else(|| i + run_after(tail, i, MAX_HOST + 1, HOST));
    if end == start || end - start > MAX_HOST {
        return None;
    }
    Some(from + start..from + end)
}

/// The index of the last two bytes of a domain, `a` then `b`, in lower case.
fn ending(a: u8, b: u8) -> usize {
    usize::from(a.to_ascii_lowercase()) << 8 | usize::from(b.to_ascii_lowercase())
}

/// Second-level labels under which names are registered (`com.cn`, `co.uk`).
const GENERIC_SECOND_LEVEL: &[&str] = &["com", "net", "org", "co", "gov", "edu", "ac"];

/// Host anchors: rightmost literal runs, dropping any that contains another.
///
/// Only object-storage hosts are anchored: they are where data lands, and
/// configs name them bare (`endpoint: storage.yandexcloud.kz`). Every other
/// host in the table (AI APIs, hubs, trackers) is found in URLs through the
/// `://` anchor, which costs a SIMD substring search instead of a place in the
/// literal searchers; entries that share a domain with a storage entry
/// (`*.amazonaws.com`) are found bare too.
fn host_anchors(entries: &[Entry]) -> Vec<String> {
    let patterns = entries
        .iter()
        .filter(|e| e.spec.category == STORAGE)
        .flat_map(|e| e.hosts.iter());
    let mut anchors: Vec<(String, bool)> = Vec::new();
    for p in patterns {
        let anchor = p.anchor();
        // A label always stands left of the anchor: search `.windows.net`,
        // whose leading dot makes far fewer false candidates than `windows.net`.
        let dotted = p.labels.len() > anchor.split('.').count();
        match anchors.iter_mut().find(|(a, _)| *a == anchor) {
            Some((_, all_dotted)) => *all_dotted &= dotted,
            None => anchors.push((anchor, dotted)),
        }
    }
    anchors.sort();
    let names: Vec<String> = anchors.iter().map(|(a, _)| a.clone()).collect();
    let keep = |a: &String| !names.iter().any(|b| b != a && a.contains(b.as_str()));
    let anchors: Vec<String> = anchors
        .into_iter()
        .filter(|(a, _)| keep(a))
        .map(|(a, dotted)| if dotted { format!(".{a}") } else { a })
        .map(|a| rare_tail(&a).to_string())
        .collect();
    // A tail may hold another anchor's tail (`ud.com`): that one finds both.
    let keep = |a: &String| !anchors.iter().any(|b| b != a && a.contains(b.as_str()));
    anchors.iter().filter(|a| keep(a)).cloned().collect()
}

/// Shortest tail of a host anchor the searcher looks for.
const TAIL_MIN: usize = 6;

/// The tail of a host anchor the searcher looks for (see
/// [`crate::engine::rare_tail`]). A host holds its anchor whole, so it holds
/// every tail of it, and the detector takes the host from both sides of
/// where the tail is found: the findings are the same, from fewer stops
/// (`.amazonaws.com` → `mazonaws.com`, `.backblazeb2.com` → `zeb2.com`;
/// 1 GiB benchmark corpus at one thread 720 → 691 ms, its Python files
/// 77 → 70 ms).
fn rare_tail(anchor: &str) -> &str {
    let from = crate::engine::rare_tail(anchor.as_bytes(), TAIL_MIN);
    // The anchors are ASCII host names; a non-ASCII one is searched whole.
    anchor.get(from..).unwrap_or(anchor)
}

/// Whether the host at `start` is the domain of an e-mail address: preceded by
/// `@` with no `://` earlier in the same token.
fn is_email(bytes: &[u8], start: usize) -> bool {
    if start == 0 || bytes[start - 1] != b'@' {
        return false;
    }
    let at = start - 1;
    let token = |b: u8| !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`');
    let back = bytes[..at]
        .iter()
        .rev()
        .take(MAX_TOKEN_BACK)
        .take_while(|&&b| token(b))
        .count();
    !bytes[at - back..at].windows(3).any(|w| w == b"://")
}

/// Lower-cases a host and strips one trailing dot, into `buf`; returns the
/// host and its length in the input. Hosts come from [`HOST`] byte runs
/// (ASCII, at most [`MAX_HOST`] bytes): most are not in the table, and the
/// stack buffer keeps them off the heap. `None` when `raw` does not fit.
fn normalize_host<'b>(raw: &[u8], buf: &'b mut [u8; MAX_HOST]) -> Option<(&'b str, usize)> {
    let len = match raw.last() {
        Some(b'.') => raw.len() - 1,
        _ => raw.len(),
    };
    let out = buf.get_mut(..len)?;
    for (o, b) in out.iter_mut().zip(&raw[..len]) {
        *o = b.to_ascii_lowercase();
    }
    Some((std::str::from_utf8(out).ok()?, len))
}

/// The host part of a URI authority: after the last `@`, before a `:` port.
fn authority_host(authority: &str) -> &str {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.split(':').next().unwrap_or(host)
}

impl Endpoints {
    /// Builds the detector from the ruleset's endpoint table. Host patterns
    /// that do not parse are skipped (a unit test checks there are none).
    pub fn new(rules: &Ruleset) -> Endpoints {
        let entries: Vec<Entry> = rules
            .endpoints
            .iter()
            .map(|e| Entry::new(e, rules))
            .collect();
        let mut anchors: Vec<Vec<u8>> = Vec::new();
        let mut roles = Vec::new();
        let mut add = |lit: &str, role: Role| {
            if !anchors.iter().any(|a| a == lit.as_bytes()) {
                anchors.push(lit.as_bytes().to_vec());
                roles.push(role);
            }
        };
        for a in host_anchors(&entries) {
            add(&a, Role::Host);
        }
        add(ARN_ANCHOR, Role::Arn);
        // `://` is in every URL, but one more literal in the SIMD searcher of
        // the host anchors costs less than a substring search of its own
        // (callgrind on the benchmark corpus).
        add(SCHEME_SEPARATOR, Role::SchemeSeparator);
        let mut schemes = Vec::new();
        let mut prefixes = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            schemes.extend(e.spec.schemes.iter().map(|s| (s.to_ascii_lowercase(), i)));
            prefixes.extend(e.spec.prefixes.iter().map(|p| (p.clone(), i)));
        }
        let sev = |id: &str, fallback| rules.rule(id).map_or(fallback, |r| r.severity);
        let mut suffixes = SuffixMap::default();
        for (i, e) in entries.iter().enumerate() {
            for h in &e.hosts {
                let list = suffixes
                    .entry(registrable(&h.anchor()).as_bytes().into())
                    .or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let mut endings = Box::new([0u64; 1024]);
        for key in suffixes.keys() {
            // Every key is a registrable domain, `label.label`: longer than 2.
            if let [.., a, b] = **key {
                let pair = ending(a, b);
                endings[pair / 64] |= 1 << (pair % 64);
            }
        }
        static TABLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Endpoints {
            id: TABLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            endings,
            suffixes,
            entries,
            anchors,
            roles,
            scheme_starts: {
                let mut t = [false; 256];
                for (scheme, _) in &schemes {
                    if let Some(&b) = scheme.as_bytes().first() {
                        t[usize::from(b.to_ascii_lowercase())] = true;
                    }
                }
                t
            },
            schemes,
            prefixes,
            foreign: sev("endpoint.foreign", Severity::Medium),
            domestic: sev("endpoint.domestic", Severity::Info),
            names: AttributeNames::new(),
            skip_repeats: true,
        }
    }

    /// The place of a lower-cased host without trailing dot: the first entry with a matching pattern.
    pub fn classify_host(&self, host: &str) -> Option<Place> {
        let (entry, caps) = self.spot(host)?;
        self.entries[entry].place(caps.region, caps.service)
    }

    /// Whether the registrable domain of a host as it stands in the input
    /// (any case, perhaps one trailing dot) is one of the table's: most hosts
    /// in URLs are not (`github.com`), and are turned down here before being
    /// copied and lower-cased whole. [`Endpoints::spot`] gives `None` for any
    /// host this turns down.
    ///
    /// Remembered per thread for the last [`KNOWN`] hosts (as they stand,
    /// by hash; a slot holds its host, compared whole): code and logs name
    /// the same few hosts (`github.com`) in URL after URL.
    fn known_domain(&self, raw: &[u8]) -> bool {
        let host = raw.strip_suffix(b".").unwrap_or(raw);
        let [.., a, b] = *host else {
            return false;
        };
        let pair = ending(a, b);
        if self.endings[pair / 64] & 1 << (pair % 64) == 0 {
            return false;
        }
        let slot = slot_of(self.id, raw, KNOWN);
        let seen = recall(&KNOWN_HOSTS, slot, |k| {
            (k.table == self.id && *k.host == *raw).then_some(k.known)
        });
        if let Some(known) = seen {
            return known;
        }
        let known = self.known_domain_uncached(raw);
        let entry = Known {
            table: self.id,
            host: raw.into(),
            known,
        };
        remember(&KNOWN_HOSTS, KNOWN, slot, entry);
        known
    }

    /// [`Endpoints::known_domain`], worked out.
    fn known_domain_uncached(&self, raw: &[u8]) -> bool {
        let raw = raw.strip_suffix(b".").unwrap_or(raw);
        let domain = &raw[registrable_start(raw)..];
        let mut buf = [0u8; 64];
        let Some(lower) = buf.get_mut(..domain.len()) else {
            return false;
        };
        for (l, b) in lower.iter_mut().zip(domain) {
            *l = b.to_ascii_lowercase();
        }
        self.suffixes.contains_key(&*lower)
    }

    /// The first entry with a pattern that matches `host` (lower case, no
    /// trailing dot), and what the pattern captured.
    ///
    /// Remembered per thread for the last [`SPOTTED`] hosts (by hash; a
    /// slot holds its host, compared whole): an input names the same few
    /// hosts over and over, and trying a host against every pattern of its
    /// domain's entries (a dozen for `amazonaws.com`) costs ≈ 1,300
    /// instructions, a repeat ≈ 100.
    fn spot<'h>(&self, host: &'h str) -> Option<(usize, Captures<'h>)> {
        let slot = slot_of(self.id, host.as_bytes(), SPOTTED);
        let seen = recall(&SPOT, slot, |s| {
            (s.table == self.id && *s.host == *host).then_some(s.found)
        });
        let at = |r: Option<Span16>| r.map(|(a, b)| &host[usize::from(a)..usize::from(b)]);
        if let Some(found) = seen {
            return found.map(|(entry, region, service)| {
                let caps = Captures {
                    region: at(region),
                    service: at(service),
                };
                (entry, caps)
            });
        }
        let found = self.spot_uncached(host);
        // The captures are slices of `host`: kept as offsets into it.
        let base = host.as_ptr() as usize;
        let range = |c: Option<&str>| {
            let c = c?;
            let from = (c.as_ptr() as usize).checked_sub(base)?;
            let to = from.checked_add(c.len()).filter(|&to| to <= host.len())?;
            Some((u16::try_from(from).ok()?, u16::try_from(to).ok()?))
        };
        let kept = match found {
            Some((entry, caps)) => {
                let (region, service) = (range(caps.region), range(caps.service));
                // A capture that did not fit is not remembered (hosts are ≤ 253 bytes).
                if region.is_none() != caps.region.is_none()
                    || service.is_none() != caps.service.is_none()
                {
                    return found;
                }
                Some((entry, region, service))
            }
            None => None,
        };
        let entry = Spotted {
            table: self.id,
            host: host.into(),
            found: kept,
        };
        remember(&SPOT, SPOTTED, slot, entry);
        found
    }

    /// [`Endpoints::spot`], worked out.
    fn spot_uncached<'h>(&self, host: &'h str) -> Option<(usize, Captures<'h>)> {
        // github.com, example.org: most URL hosts end at this lookup.
        let candidates = self.suffixes.get(registrable(host).as_bytes())?;
        let find = |labels: &[&'h str]| {
            candidates
                .iter()
                .find_map(|&i| Some((i, self.entries[i].match_host(labels)?)))
        };
        // Labels on the stack when there are few, as in every table host.
        let mut few = [""; 8];
        let mut n = 0;
        for label in host.split('.') {
            match few.get_mut(n) {
                Some(slot) => *slot = label,
                None => return find(&host.split('.').collect::<Vec<_>>()),
            }
            n += 1;
        }
        find(&few[..n])
    }

    /// The place of a URI, a `scheme://authority` or a bare host: by the
    /// authority's host if it is in the table (confidence high), else by the
    /// scheme (confidence medium).
    pub fn classify_uri(&self, uri: &str) -> Option<(Place, Confidence)> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            let host = uri.split(['/', ':']).next().unwrap_or(uri);
            let place = self.classify_host(&host.to_ascii_lowercase())?;
            return Some((place, Confidence::High));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let host = authority_host(authority).to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        if let Some(place) = self.classify_host(host) {
            return Some((place, Confidence::High));
        }
        let with_sep = format!("{}://", scheme.to_ascii_lowercase());
        let entry = self
            .entries
            .iter()
            .find(|e| e.spec.schemes.contains(&with_sep))?;
        Some((entry.place(None, None)?, Confidence::Medium))
    }

    /// The severity of a finding at this place.
    pub fn severity(&self, place: &Place) -> Severity {
        place.severity.unwrap_or(match place.kind() {
            Kind::DomesticEndpoint => self.domestic,
            _ => self.foreign,
        })
    }

    fn finding(&self, hay: &Haystack<'_>, span: Range<usize>, hit: Hit<'_>) -> RawFinding {
        let entry = &self.entries[hit.entry];
        let (kind, default) = match entry.domestic(hit.caps) {
            true => (Kind::DomesticEndpoint, self.domestic),
            false => (Kind::ForeignEndpoint, self.foreign),
        };
        RawFinding {
            rule: entry.rule.into(),
            kind,
            span: hay.abs(span.start)..hay.abs(span.end),
            value: hit.value,
            confidence: hit.confidence,
            severity: entry.spec.severity.unwrap_or(default),
            attributes: self.attributes(hit.entry, hit.caps, hit.host),
        }
    }

    /// The attributes of a finding of `entry` with these captures and
    /// `host`, shared ([`Attributes::shared`]) with the thread's recent
    /// findings of the same: an input names the same few hosts over and
    /// over (a config its bucket on every line, a log the same API on each
    /// request), and a repeat then costs a reference count, not a vector
    /// and a host string; the report writer copies a repeated set's JSON.
    fn attributes(&self, entry: usize, caps: Captures<'_>, host: &str) -> Attributes {
        let mut h = SuffixHasher::default();
        h.write_u64(self.id);
        h.write_usize(entry);
        for part in [caps.region, caps.service, Some(host)] {
            h.write(part.unwrap_or("\0").as_bytes());
        }
        let slot = (h.finish() >> 32) as usize % RECENT_SETS;
        let seen = recall(&RECENT, slot, |r| {
            let same = r.table == self.id
                && r.entry == entry
                && r.region.as_deref() == caps.region
                && r.service.as_deref() == caps.service
                && r.attributes.get_value(&self.names.host) == Some(host);
            same.then(|| r.attributes.clone())
        });
        if let Some(attributes) = seen {
            return attributes;
        }
        let attributes = self.entries[entry]
            .attributes(caps, host, &self.names)
            .shared();
        let recent = Recent {
            table: self.id,
            entry,
            region: caps.region.map(Box::from),
            service: caps.service.map(Box::from),
            attributes: attributes.clone(),
        };
        remember(&RECENT, RECENT_SETS, slot, recent);
        attributes
    }

    /// A host around an anchor at `at`. `last` is the finding reported just
    /// before, at an earlier match of the same searcher when there was one.
    ///
    /// A URL's host is found twice: after its `://` and at its host anchor.
    /// When the finding just reported is the one this would make (its host
    /// at the same span, the same value), this one is not made again: the
    /// window's settle would drop the copy (31k of the benchmark corpus's
    /// URLs, each a table look-up, an attribute set and a value otherwise).
    fn on_host(
        &self,
        hay: &Haystack<'_>,
        at: Range<usize>,
        last: Option<&RawFinding>,
    ) -> Option<RawFinding> {
        let bytes = hay.bytes;
        let start = at.start - run_before(bytes, at.start, MAX_HOST + 1, HOST);
        let end = at.end + run_after(bytes, at.end, MAX_HOST + 1, HOST);
        let truncated = start == 0 && !hay.at_start();
        if end - start > MAX_HOST || truncated || is_email(bytes, start) {
            return None;
        }
        if !self.known_domain(&bytes[start..end]) {
            return None;
        }
        let mut buf = [0u8; MAX_HOST];
        let (host, len) = normalize_host(&bytes[start..end], &mut buf)?;
        let span = hay.abs(start)..hay.abs(start + len);
        if self.skip_repeats && last.is_some_and(|f| self.made_host(f, &span, host)) {
            return None;
        }
        let (entry, caps) = self.spot(host)?;
        let hit = Hit::new(entry, caps, host, host.into(), Confidence::High);
        Some(self.finding(hay, start..start + len, hit))
    }

    /// Whether `f` is the finding this table makes of `host` at `span`
    /// (from its URL or its host anchor: the two make the same one).
    fn made_host(&self, f: &RawFinding, span: &Range<u64>, host: &str) -> bool {
        f.span == *span
            && matches!(f.kind, Kind::ForeignEndpoint | Kind::DomesticEndpoint)
            && f.value == host.as_bytes()
            && f.confidence == Confidence::High
            && self
                .spot(host)
                .is_some_and(|(entry, _)| f.rule == self.entries[entry].rule)
    }

    /// A `://`: the scheme name before it, if it is one of the table's.
    fn on_separator(&self, hay: &Haystack<'_>, at: Range<usize>) -> Option<RawFinding> {
        let back = run_before(hay.bytes, at.start, MAX_SCHEME + 1, SCHEME);
        if back == 0 || back > MAX_SCHEME {
            return None;
        }
        let start = at.start - back;
        let scheme = &hay.bytes[start..at.end];
        let first = usize::from(scheme[0].to_ascii_lowercase());
        let known = self.scheme_starts[first]
            .then(|| {
                self.schemes
                    .iter()
                    .find(|(s, _)| s.as_bytes().eq_ignore_ascii_case(scheme))
            })
            .flatten();
        match known {
            Some(&(_, entry)) => self.on_scheme(hay, start..at.end, entry),
            None => self.on_url_host(hay, at.end),
        }
    }

    /// The host of a URL whose authority starts at `from` (`https://user@host:port/…`).
    fn on_url_host(&self, hay: &Haystack<'_>, from: usize) -> Option<RawFinding> {
        let bytes = hay.bytes;
        let Range { start, end } = url_host(bytes, from)?;
        if !self.known_domain(&bytes[start..end]) {
            return None;
        }
        let mut buf = [0u8; MAX_HOST];
        let (host, host_len) = normalize_host(&bytes[start..end], &mut buf)?;
        let (entry, caps) = self.spot(host)?;
        let hit = Hit::new(entry, caps, host, host.into(), Confidence::High);
        Some(self.finding(hay, start..start + host_len, hit))
    }

    /// An `arn:aws`: the longest of the table's ARN prefixes that starts here.
    fn on_arn(&self, hay: &Haystack<'_>, at: Range<usize>) -> Option<RawFinding> {
        let rest = &hay.bytes[at.start..];
        let (prefix, entry) = self
            .prefixes
            .iter()
            .filter(|(p, _)| rest.starts_with(p.as_bytes()))
            .max_by_key(|(p, _)| p.len())?;
        self.on_prefix(hay, at.start..at.start + prefix.len(), *entry)
    }

    /// A URI at a scheme anchor: `scheme://authority`.
    fn on_scheme(&self, hay: &Haystack<'_>, at: Range<usize>, entry: usize) -> Option<RawFinding> {
        let bytes = hay.bytes;
        if at.start > 0 && is_scheme_byte(bytes[at.start - 1]) {
            return None;
        }
        let len = run_after(bytes, at.end, MAX_AUTHORITY, AUTHORITY);
        let first = bytes.get(at.end).copied().unwrap_or(b' ');
        if len == 0 || !first.is_ascii_alphanumeric() {
            return None;
        }
        let end = at.end + len;
        // Scheme and authority bytes are ASCII: the value is the bytes as they are.
        let value = bytes[at.start..end].to_vec();
        let authority = std::str::from_utf8(&bytes[at.end..end]).ok()?;
        let lower = authority_host(authority).to_ascii_lowercase();
        let host = lower.strip_suffix('.').unwrap_or(&lower);
        let hit = match self.spot(host) {
            Some((entry, caps)) => Hit::new(entry, caps, host, value, Confidence::High),
            None => {
                self.entries.get(entry)?;
                let caps = Captures::default();
                Hit::new(entry, caps, authority, value, Confidence::Medium)
            }
        };
        Some(self.finding(hay, at.start..end, hit))
    }

    /// An ARN at a prefix anchor: the prefix and the `[A-Za-z0-9._:-]` run after it.
    fn on_prefix(&self, hay: &Haystack<'_>, at: Range<usize>, entry: usize) -> Option<RawFinding> {
        let bytes = hay.bytes;
        if at.start > 0 && is_scheme_byte(bytes[at.start - 1]) {
            return None;
        }
        let len = run_after(bytes, at.end, MAX_AUTHORITY, ARN);
        // ARN bytes are ASCII.
        let tail = std::str::from_utf8(&bytes[at.end..at.end + len]).ok()?;
        let resource = tail.rsplit(':').next().unwrap_or_default();
        if resource.is_empty() || !tail.contains(':') {
            return None;
        }
        let e = self.entries.get(entry)?;
        // A region not in the entry's table gives the entry's own place.
        let region = tail.split(':').next().filter(|r| !r.is_empty());
        let caps = Captures {
            region: region.filter(|r| e.regions.contains_key(*r)),
            service: None,
        };
        let value = bytes[at.start..at.end + len].to_vec();
        let hit = Hit::new(entry, caps, resource, value, Confidence::Medium);
        Some(self.finding(hay, at.start..at.end + len, hit))
    }
}

/// A confirmed endpoint before it becomes a finding: the entry, what its
/// pattern captured, the `host` attribute and the raw value.
#[derive(Debug)]
struct Hit<'h> {
    entry: usize,
    caps: Captures<'h>,
    host: &'h str,
    value: Vec<u8>,
    confidence: Confidence,
}

impl<'h> Hit<'h> {
    fn new(
        entry: usize,
        caps: Captures<'h>,
        host: &'h str,
        value: Vec<u8>,
        confidence: Confidence,
    ) -> Hit<'h> {
        Hit {
            entry,
            caps,
            host,
            value,
            confidence,
        }
    }
}

impl Detector for Endpoints {
    fn id(&self) -> &str {
        "endpoints"
    }

    fn anchors(&self) -> Vec<Vec<u8>> {
        self.anchors.clone()
    }

    fn on_anchor(
        &self,
        hay: &Haystack<'_>,
        anchor: usize,
        at: Range<usize>,
        out: &mut Vec<RawFinding>,
    ) {
        let found = match self.roles.get(anchor) {
            Some(Role::Host) => self.on_host(hay, at, out.last()),
            Some(Role::SchemeSeparator) => self.on_separator(hay, at),
            Some(Role::Arn) => self.on_arn(hay, at),
            None => None,
        };
        out.extend(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<RawFinding> {
        let det = Endpoints::new(Ruleset::builtin());
        let engine = crate::Engine::new(vec![Box::new(det)]);
        let mut out = Vec::new();
        engine.scan(&Haystack::whole(text.as_bytes(), "t.txt"), &mut out);
        out
    }

    fn values(text: &str) -> Vec<String> {
        let v = scan(text).into_iter().map(|f| f.value);
        v.map(|v| String::from_utf8(v).unwrap()).collect()
    }

    /// Repeated hosts share one attribute set per thread; each set is the
    /// one built afresh for its entry, captures and host, whichever table
    /// (of several in the process) found it.
    #[test]
    fn repeated_hosts_share_their_attribute_set() {
        let text = "https://b.s3.eu-central-1.amazonaws.com/x s3://bucket/a \
            https://b.s3.eu-central-1.amazonaws.com/y https://b.s3.us-west-2.amazonaws.com \
            https://c.s3.eu-central-1.amazonaws.com https://api.openai.com/v1 https://api.openai.com/v2\n";
        let twice = scan(text);
        let again = scan(text);
        assert_eq!(twice, again);
        assert_eq!(twice.len(), 7, "{twice:?}");
        let det = Endpoints::new(Ruleset::builtin());
        for f in &twice {
            let host = f.attributes.get("host").unwrap();
            let (entry, caps) = det.spot(host).unwrap_or_else(|| {
                let i = det.entries.iter().position(|e| e.rule == f.rule).unwrap();
                (i, Captures::default())
            });
            let fresh = det.entries[entry].attributes(caps, host, &det.names);
            assert_eq!(f.attributes, fresh, "{host}");
            assert!(f.attributes.shared_id().is_some());
        }
        let id = |i: usize| twice[i].attributes.shared_id();
        assert_eq!(id(0), id(2), "the same host");
        assert_eq!(id(5), id(6), "the same host");
        assert_ne!(id(0), id(3), "another region");
        assert_ne!(id(0), id(4), "another bucket");
        assert_ne!(twice[0].attributes, twice[3].attributes);
        assert_ne!(id(0), again[0].attributes.shared_id(), "another table");
    }

    #[test]
    fn grammar_literal_star_and_placeholders() {
        let p = HostPattern::parse("*.s3-accesspoint.{region}.amazonaws.com").unwrap();
        let c = p
            .matches("ap-123.s3-accesspoint.us-west-2.amazonaws.com")
            .unwrap();
        assert_eq!(c.region, Some("us-west-2"));
        assert!(p
            .matches("a.b.s3-accesspoint.us-west-2.amazonaws.com")
            .is_some());
        assert!(p
            .matches("s3-accesspoint.us-west-2.amazonaws.com")
            .is_none());
        let q = HostPattern::parse("{region}-aiplatform.googleapis.com").unwrap();
        assert_eq!(
            q.matches("europe-west4-aiplatform.googleapis.com")
                .unwrap()
                .region,
            Some("europe-west4")
        );
        assert!(q.matches("-aiplatform.googleapis.com").is_none());
        let s = HostPattern::parse("{service}.{region}.amazonaws.com").unwrap();
        let c = s.matches("sqs.eu-west-1.amazonaws.com").unwrap();
        assert_eq!((c.service, c.region), (Some("sqs"), Some("eu-west-1")));
        let x = HostPattern::parse("*.s3express-{any}.{region}.amazonaws.com").unwrap();
        assert!(x
            .matches("b--use1-az4--x-s3.s3express-use1-az4.us-east-1.amazonaws.com")
            .is_some());
    }

    /// Findings build their attributes from values stored per entry; they
    /// must equal what the public [`Place`] gives for the same host.
    #[test]
    fn stored_attributes_equal_the_places() {
        let det = Endpoints::new(Ruleset::builtin());
        let mut checked = 0;
        for spec in &Ruleset::builtin().endpoints {
            for ex in &spec.examples {
                for f in scan(&ex.text) {
                    let host = f.attributes.get("host").unwrap().to_string();
                    let place = match f.confidence {
                        Confidence::High => det.classify_host(&host).unwrap(),
                        _ => {
                            let e = det.entries.iter().find(|e| e.rule == f.rule).unwrap();
                            let region = f.attributes.get("region");
                            let region = region.filter(|r| e.regions.contains_key(*r));
                            e.place(region, None).unwrap()
                        }
                    };
                    assert_eq!(f.attributes, place.attributes(&host), "{}", ex.text);
                    assert_eq!(f.rule, place.rule, "{}", ex.text);
                    assert_eq!(f.kind, place.kind(), "{}", ex.text);
                    assert_eq!(f.severity, det.severity(&place), "{}", ex.text);
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "{checked} findings checked");
    }

    #[test]
    fn byte_classes_are_the_url_grammar() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric();
            assert_eq!(in_class(b, HOST), alnum || b"-.".contains(&b), "{b}");
            assert_eq!(is_scheme_byte(b), alnum || b"+.-".contains(&b), "{b}");
            let authority = alnum || b".-_~%@:+".contains(&b);
            assert_eq!(in_class(b, AUTHORITY), authority, "{b}");
            assert_eq!(in_class(b, ARN), alnum || b".-_:".contains(&b), "{b}");
        }
    }

    #[test]
    fn grammar_rejects_bad_patterns() {
        for bad in [
            "amazonaws",
            "s3.*.amazonaws.com",
            "{region}.com.{any}",
            "{bogus}.x.com",
            "S3.x.com",
            "a..com",
            "s3-{region.x.com",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grammar_anchor_is_rightmost_literal_run() {
        let a = |p: &str| HostPattern::parse(p).unwrap().anchor();
        assert_eq!(a("*.blob.core.windows.net"), "windows.net");
        assert_eq!(a("api.openai.com"), "openai.com");
        assert_eq!(a("s3.{region}.amazonaws.com.cn"), "amazonaws.com.cn");
        assert_eq!(a("hf.co"), "hf.co");
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable("x.s3.amazonaws.com"), "amazonaws.com");
        assert_eq!(
            registrable("s3.cn-north-1.amazonaws.com.cn"),
            "amazonaws.com.cn"
        );
        assert_eq!(registrable("hf.co"), "hf.co");
        assert_eq!(registrable("localhost"), "localhost");
    }

    /// The per-thread memo of [`Endpoints::spot`] gives what working the
    /// host out gives: hosts of every table entry, with regions and
    /// services captured, and hosts of no entry, visited in turns over more
    /// hosts than the memo has slots (so slots are taken over and hosts
    /// sharing a slot take turns), by two tables.
    #[test]
    fn remembered_hosts_are_spotted_as_worked_out() {
        let rules = Ruleset::builtin();
        let (a, b) = (Endpoints::new(rules), Endpoints::new(rules));
        let mut hosts: Vec<String> = Vec::new();
        for (i, region) in ["eu-central-1", "us-east-1", "kz1", "ap-south-2"]
            .iter()
            .enumerate()
        {
            hosts.push(format!("b{i}.s3.{region}.amazonaws.com"));
            hosts.push(format!("b{i}.s3.dualstack.{region}.amazonaws.com"));
            hosts.push(format!("bedrock-runtime.{region}.amazonaws.com"));
            hosts.push(format!("{region}-aiplatform.googleapis.com"));
            hosts.push(format!("x{i}.example.org"));
        }
        for e in &rules.endpoints {
            for h in &e.hosts {
                hosts.push(
                    h.replace("{region}", "eu-west-1")
                        .replace("{service}", "s3")
                        .replace("*.", "w."),
                );
            }
        }
        while hosts.len() < 3 * SPOTTED {
            let n = hosts.len();
            hosts.push(format!("h{n}.s3.me-south-1.amazonaws.com"));
            hosts.push(format!("h{n}.github.com"));
        }
        for round in 0..3 {
            for k in 0..hosts.len() {
                let host = &hosts[(k * 7 + round * 13) % hosts.len()];
                for d in [&a, &b] {
                    assert_eq!(d.spot(host), d.spot_uncached(host), "{host}");
                }
            }
        }
        assert!(hosts.iter().filter(|h| a.spot(h).is_some()).count() > SPOTTED);
    }

    /// The per-thread memo of [`Endpoints::known_domain`] gives what
    /// working the domain out gives, for hosts in any case, with a trailing
    /// dot, in the table and not, over more hosts than it has slots.
    #[test]
    fn remembered_domains_are_known_as_worked_out() {
        let d = Endpoints::new(Ruleset::builtin());
        let mut hosts: Vec<Vec<u8>> = Vec::new();
        for i in 0..2 * KNOWN {
            hosts.push(format!("b{i}.S3.AmazonAWS.com").into_bytes());
            hosts.push(format!("x{i}.github.com.").into_bytes());
            hosts.push(format!("y{i}.storage.yandexcloud.kz").into_bytes());
            hosts.push(format!("z{i}.amazonaws.com.example.org").into_bytes());
        }
        for round in 0..3 {
            for k in 0..hosts.len() {
                let host = &hosts[(k * 11 + round * 5) % hosts.len()];
                assert_eq!(
                    d.known_domain(host),
                    d.known_domain_uncached(host),
                    "{}",
                    String::from_utf8_lossy(host)
                );
            }
        }
        let known = hosts.iter().filter(|h| d.known_domain(h)).count();
        assert_eq!(known, hosts.len() / 2);
    }

    /// Every storage host pattern holds one of the host anchors (so the
    /// tails still find every host the table anchors), and each anchor is a
    /// tail of at least [`TAIL_MIN`] bytes priced no higher than the whole.
    #[test]
    fn host_anchor_tails_cover_every_storage_pattern() {
        let d = Endpoints::new(Ruleset::builtin());
        let anchors = host_anchors(&d.entries);
        let storage = d.entries.iter().filter(|e| e.spec.category == STORAGE);
        let mut patterns = 0;
        for p in storage.flat_map(|e| e.hosts.iter()) {
            // With the dot before it when a label always stands left of it.
            let whole = match p.labels.len() > p.anchor().split('.').count() {
                true => format!(".{}", p.anchor()),
                false => p.anchor(),
            };
            assert!(
                anchors.iter().any(|a| whole.contains(a.as_str())),
                "{whole}: no anchor in {anchors:?}"
            );
            patterns += 1;
        }
        assert!(patterns > 20, "{patterns}");
        let price = |s: &str| -> f64 {
            let b = &s.as_bytes()[..3];
            b.iter().map(|&c| crate::engine::byte_weight(c)).product()
        };
        for whole in [
            ".amazonaws.com",
            ".backblazeb2.com",
            "storage.yandexcloud.kz",
            "r2.dev",
        ] {
            let tail = rare_tail(whole);
            assert!(whole.ends_with(tail), "{whole}: {tail}");
            assert!(tail.len() >= TAIL_MIN.min(whole.len()), "{whole}: {tail}");
            assert!(price(tail) <= price(whole), "{whole}: {tail}");
        }
        assert_eq!(rare_tail(".amazonaws.com"), "mazonaws.com");
        assert_eq!(rare_tail("r2.dev"), "r2.dev", "no shorter tail");
    }

    #[test]
    fn anchors_fit_the_simd_prefilter() {
        let d = Endpoints::new(Ruleset::builtin());
        let egress = crate::egress::DeclaredEgress::new(Ruleset::builtin());
        // Few enough literals per detector for two or three SIMD searcher groups.
        assert!(d.anchors().len() <= 48, "{} anchors", d.anchors().len());
        assert!(
            egress.anchors().len() <= 24,
            "{} anchors",
            egress.anchors().len()
        );
        assert!(d.anchors().contains(&b"://".to_vec()));
        assert!(d.frequent_anchors().is_empty());
    }

    #[test]
    fn builtin_table_patterns_are_valid() {
        let rules = Ruleset::builtin();
        for e in &rules.endpoints {
            for h in &e.hosts {
                let p =
                    HostPattern::parse(h).unwrap_or_else(|err| panic!("endpoint {}: {err}", e.id));
                assert!(
                    !p.has_region() || e.region_table.is_some(),
                    "endpoint {}: {h} needs a region table",
                    e.id
                );
                assert!(
                    p.anchor().len() >= 4,
                    "endpoint {}: {h}: anchor too short",
                    e.id
                );
            }
        }
    }

    #[test]
    fn anchor_set_is_small() {
        let det = Endpoints::new(Ruleset::builtin());
        let names: Vec<_> = det
            .anchors
            .iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect();
        eprintln!("{} endpoint anchors: {names:?}", names.len());
        assert!(det.anchors.len() <= 80, "{} anchors", det.anchors.len());
    }

    #[test]
    fn email_is_not_an_endpoint_but_userinfo_is() {
        assert!(scan("mail billing@s3.amazonaws.com now").is_empty());
        assert_eq!(
            values("https://user@x.s3.amazonaws.com/k"),
            ["x.s3.amazonaws.com"]
        );
    }

    use proptest::strategy::Strategy;

    /// What `on_url_host` computed before [`url_host`]: three passes.
    fn url_host_reference(bytes: &[u8], from: usize) -> Option<Range<usize>> {
        let len = run_after(bytes, from, MAX_AUTHORITY, AUTHORITY);
        let authority = &bytes[from..from + len];
        let at = authority.iter().rposition(|&b| b == b'@');
        let start = from + at.map_or(0, |i| i + 1);
        let end = start + run_after(bytes, start, MAX_HOST + 1, HOST);
        (end != start && end - start <= MAX_HOST).then_some(start..end)
    }

    proptest::proptest! {
        /// A host's finding not made again at its anchor after its URL made
        /// it: the engine's findings are those made with every repeat, on
        /// URLs, bare hosts, e-mail addresses, ports, userinfo, any case, a
        /// trailing dot, and small windows whose edges cut them.
        #[test]
        fn repeats_skipped_change_no_finding(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::sample::select(vec![
                    "https://", "s3://", "gs://", "HTTP://", "u@", "x:p@", ":443", "/k", ".",
                    "b.s3.amazonaws.com", "B.S3.EU-WEST-1.AmazonAWS.com", "storage.googleapis.com",
                    "acct.blob.core.windows.net", "storage.yandexcloud.kz", "api.openai.com",
                    "huggingface.co", "example.org", "github.com", "arn:aws:s3:::b",
                ]).prop_map(str::to_string),
                "[a-z0-9 .:/@\n\"_-]{0,6}",
            ], 0..24),
            window in proptest::sample::select(vec![7usize, 40, 1 << 16]),
        ) {
            let text = parts.concat();
            let mut plain = Endpoints::new(Ruleset::builtin());
            plain.skip_repeats = false;
            let skipping = crate::Engine::new(vec![Box::new(Endpoints::new(Ruleset::builtin()))]);
            let every = crate::Engine::new(vec![Box::new(plain)]);
            let run = |engine: &crate::Engine| {
                let mut out = Vec::new();
                let bytes = text.as_bytes();
                let mut start = 0;
                while start < bytes.len() {
                    let end = (start + window).min(bytes.len());
                    let lo = start.saturating_sub(crate::OVERLAP);
                    let hi = (end + crate::OVERLAP).min(bytes.len());
                    let hay = Haystack {
                        bytes: &bytes[lo..hi],
                        owned: start - lo..end - lo,
                        base: lo as u64,
                        path: "t.txt",
                    };
                    engine.scan(&hay, &mut out);
                    start = end;
                }
                out
            };
            proptest::prop_assert_eq!(run(&skipping), run(&every));
        }

        #[test]
        fn url_host_in_one_pass_is_the_three_pass_host(
            parts in proptest::collection::vec(proptest::prop_oneof![
                "[a-zA-Z0-9.-]{0,12}",
                proptest::sample::select(vec!["@", ":", ":8080", "_", "~", "%", "+", "/", " ", "\"", "."]).prop_map(str::to_string),
                proptest::sample::select(vec![300usize, 500, 511, 513]).prop_map(|n| "a".repeat(n)),
            ], 0..12),
        ) {
            let bytes = parts.concat().into_bytes();
            for from in 0..=bytes.len().min(20) {
                proptest::prop_assert_eq!(url_host(&bytes, from), url_host_reference(&bytes, from));
            }
        }

        /// The quick test turns down only hosts the table has no entry for.
        #[test]
        fn known_domain_keeps_every_table_host(
            labels in proptest::collection::vec(proptest::prop_oneof![
                "[a-z0-9-]{1,8}",
                proptest::sample::select(vec!["s3", "com", "cn", "co", "amazonaws", "windows", "net",
                    "blob", "core", "googleapis", "storage", "yandexcloud", "kz", "hf", "eu-west-1"])
                    .prop_map(str::to_string),
            ], 1..7),
            upper in proptest::collection::vec(proptest::bool::ANY, 64),
            dot in proptest::bool::ANY,
        ) {
            let det = Endpoints::new(Ruleset::builtin());
            let host = labels.join(".");
            let mut raw: Vec<u8> = host.bytes().zip(upper.iter().cycle())
                .map(|(b, &u)| if u { b.to_ascii_uppercase() } else { b }).collect();
            if dot {
                raw.push(b'.');
            }
            if det.spot(&host).is_some() {
                proptest::prop_assert!(det.known_domain(&raw), "{}", host);
            }
            proptest::prop_assert_eq!(det.known_domain(&raw), det.known_domain(host.as_bytes()));
        }
    }

    #[test]
    fn table_domains_fit_the_quick_test() {
        let det = Endpoints::new(Ruleset::builtin());
        for key in det.suffixes.keys() {
            assert!(key.len() <= 64, "{}", String::from_utf8_lossy(key));
            assert!(det.known_domain(key));
        }
        assert!(!det.known_domain(b"github.com"));
        assert!(det.known_domain(b"X.S3.AmazonAWS.COM."));
        assert!(det.known_domain(b"b.s3.cn-north-1.amazonaws.COM.cn"));
    }

    #[test]
    fn url_hosts_in_any_case_with_userinfo_ports_and_dots() {
        assert_eq!(
            values("HTTPS://DATA.S3.EU-WEST-1.AMAZONAWS.COM/k"),
            ["data.s3.eu-west-1.amazonaws.com"]
        );
        assert_eq!(
            values("https://a@b:c@x.s3.amazonaws.com:443/k"),
            ["x.s3.amazonaws.com"]
        );
        assert_eq!(
            values("(https://Storage.GoogleAPIs.COM./b)"),
            ["storage.googleapis.com"]
        );
        assert!(scan("https://x.s3.amazonaws.com.example.org/k").is_empty());
        assert!(scan("https://github.com/o/r http://localhost:8080/ https://@/").is_empty());
        assert!(scan(&format!("https://{}.s3.amazonaws.com/", "a".repeat(300))).is_empty());
    }

    #[test]
    fn suffix_spoofs_do_not_match() {
        assert!(scan("http://s3.amazonaws.com.example.org/x").is_empty());
        assert!(scan("notamazonaws.com and x.notamazonaws.com").is_empty());
        assert!(scan("https://myhf.com/x").is_empty());
    }

    #[test]
    fn china_region_maps_to_cn() {
        let f = scan("https://b.s3.cn-north-1.amazonaws.com.cn/k");
        assert_eq!(f.len(), 1);
        assert_eq!(&f[0].attributes["country"], "CN");
        assert_eq!(f[0].value, b"b.s3.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn uppercase_host_is_lower_cased_and_trailing_dot_dropped() {
        let f = scan("see https://DATA.S3.EU-WEST-1.amazonaws.com.");
        assert_eq!(f[0].value, b"data.s3.eu-west-1.amazonaws.com");
        assert_eq!(&f[0].attributes["country"], "IE");
        assert_eq!(f[0].span, 12..43);
    }

    #[test]
    fn scheme_authority_host_wins_over_scheme() {
        let f = scan("abfss://c@acct.dfs.core.windows.net/p");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].value, b"abfss://c@acct.dfs.core.windows.net");
        assert_eq!(f[0].confidence, Confidence::High);
        assert_eq!(&f[0].attributes["host"], "acct.dfs.core.windows.net");
    }

    #[test]
    fn scheme_needs_boundary_and_authority() {
        assert!(scan("jobs://x").is_empty());
        assert!(scan("s3:// x").is_empty());
        assert_eq!(values("'s3://bucket/key'"), ["s3://bucket"]);
    }

    /// Schemes are matched in any case, the first byte's look-up too, and
    /// a URL whose scheme is none of the table's is read by its host.
    #[test]
    fn schemes_in_any_case() {
        assert_eq!(values("S3://bucket/key"), ["S3://bucket"]);
        assert_eq!(values("Gs://b/x"), ["Gs://b"]);
        assert_eq!(values("x WASBS://c@a.blob.core.windows.net/y").len(), 1);
        let hosts = values("HTTPS://storage.googleapis.com/b and hTtP://api.openai.com/v1");
        assert_eq!(hosts, ["storage.googleapis.com", "api.openai.com"]);
    }

    #[test]
    fn arn_with_and_without_region() {
        assert_eq!(
            values("Resource: arn:aws:s3:::bucket/*"),
            ["arn:aws:s3:::bucket"]
        );
        let f = scan("arn:aws:s3:eu-north-1:123456789012:accesspoint/ap");
        assert_eq!(&f[0].attributes["country"], "SE");
    }

    #[test]
    fn classify_uri_uses_host_then_scheme() {
        let det = Endpoints::new(Ruleset::builtin());
        let (p, c) = det.classify_uri("s3://b/k").unwrap();
        assert_eq!(
            (p.provider.as_str(), c),
            ("Amazon Web Services", Confidence::Medium)
        );
        let (p, _) = det
            .classify_uri("https://storage.yandexcloud.kz/b")
            .unwrap();
        assert_eq!(p.country, "KZ");
        assert!(det.classify_uri("/data/remote").is_none());
        assert!(det.classify_uri("ssh://host/x").is_none());
    }
}
