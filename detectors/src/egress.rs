//! Egress declared without a URL: Terraform providers and storage resources, DVC remotes,
//! MLflow tracking and artifact stores, Hugging Face pushes, hosted fine-tuning calls.
//!
//! Terraform needs the whole file (a resource takes its region from a
//! provider block anywhere in it): the detector asks for files ending in
//! `.tf` and reads them with a small, forgiving brace-matching lexer. The rest
//! is anchored on specific literals (`MLFLOW_TRACKING_URI`, `push_to_hub(`,
//! `fine_tuning.jobs.create`, …) and looks at most [`OVERLAP`](crate::OVERLAP)
//! bytes around the anchor. URIs are classified through the endpoint table
//! ([`Endpoints::classify_uri`]).
//!
//! A finding of this detector spans the whole declaration (a DVC section up to
//! its URL, `MLFLOW_TRACKING_URI=…`), so the engine drops the plain endpoint
//! finding of the same URI, which starts later inside it.

use std::collections::BTreeMap;
use std::ops::Range;

use shekara_signatures::{Confidence, Kind, Ruleset, Severity};

use crate::endpoint::{Endpoints, Place};
use crate::{Detector, Haystack, RawFinding};

/// How far back from an anchor the detector looks for context.
const LOOK_BACK: usize = 1000;

/// How far ahead of an anchor the detector reads arguments or values.
const LOOK_AHEAD: usize = 512;

/// What an anchor stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Dvc,
    Mlflow,
    HfPush,
    HfUpload,
    FineTune,
    FineTunePurpose,
}

const ANCHORS: &[(&str, Role)] = &[
    ("remote \"", Role::Dvc),
    ("MLFLOW_TRACKING_URI", Role::Mlflow),
    ("MLFLOW_S3_ENDPOINT_URL", Role::Mlflow),
    ("set_tracking_uri(", Role::Mlflow),
    ("artifact_location", Role::Mlflow),
    ("--default-artifact-root", Role::Mlflow),
    ("push_to_hub(", Role::HfPush),
    ("upload_file(", Role::HfUpload),
    ("upload_folder(", Role::HfUpload),
    ("upload_large_folder(", Role::HfUpload),
    ("create_repo(", Role::HfUpload),
    ("fine_tuning.jobs.create", Role::FineTune),
    ("fineTuning.jobs.create", Role::FineTune),
    ("FineTuningJob.create", Role::FineTune),
    ("fine_tunes.create", Role::FineTune),
    ("\"fine-tune\"", Role::FineTunePurpose),
    ("'fine-tune'", Role::FineTunePurpose),
];

/// Keys before a URL that name the API a client talks to.
const BASE_URL_KEYS: &[&str] = &[
    "base_url",
    "api_base",
    "baseURL",
    "BASE_URL",
    "azure_endpoint",
];

/// Finds egress that configuration and code declare.
#[derive(Debug)]
pub struct DeclaredEgress {
    endpoints: Endpoints,
    tables: BTreeMap<String, BTreeMap<String, String>>,
    severities: BTreeMap<String, Severity>,
    domestic: Severity,
}

/// A confirmed declaration before it becomes a finding.
#[derive(Debug)]
struct Declared {
    rule: &'static str,
    span: Range<usize>,
    value: String,
    place: Place,
    host: Option<String>,
    confidence: Confidence,
    extra: Vec<(&'static str, String)>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(hay, needle)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Length of the run of `pred` bytes starting at `from`, up to `max`.
fn run_after(bytes: &[u8], from: usize, max: usize, pred: impl Fn(u8) -> bool) -> usize {
    let tail = bytes.get(from..).unwrap_or_default();
    tail.iter().take(max).take_while(|&&b| pred(b)).count()
}

fn is_value_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b')' | b',' | b';' | b'`' | b'<' | b'>')
}

/// A place that is not in the endpoint table.
fn unknown_place(provider: &str, service: &str, category: &str) -> Place {
    Place {
        rule: String::new(),
        provider: provider.into(),
        service: service.into(),
        category: category.into(),
        region: "unknown".into(),
        country: "unknown".into(),
        operator_country: None,
        note: None,
        severity: None,
    }
}

/// The host of a `scheme://authority/…` URI, lower-cased, if it has one.
fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether a host is not on the public internet: loopback, private ranges,
/// single-label names (container service names), `.local`/`.internal`.
fn is_private_host(host: &str) -> bool {
    let octets: Vec<u8> = host.split('.').filter_map(|o| o.parse().ok()).collect();
    let private_ip = octets.len() == 4
        && matches!(
            octets[..2],
            [127, _] | [10, _] | [192, 168] | [0, 0] | [172, 16..=31] | [169, 254]
        );
    let suffixes = [".local", ".internal", ".localhost", ".svc", ".lan"];
    private_ip
        || !host.contains('.')
        || host.starts_with('[')
        || suffixes.iter().any(|s| host.ends_with(s))
}

impl DeclaredEgress {
    /// Builds the detector from the ruleset (endpoint table, region tables, severities).
    pub fn new(rules: &Ruleset) -> DeclaredEgress {
        let tables = rules
            .region_tables
            .iter()
            .map(|t| (t.id.clone(), t.regions.clone()))
            .collect();
        let severities = rules
            .rules
            .iter()
            .map(|r| (r.id.clone(), r.severity))
            .collect();
        DeclaredEgress {
            endpoints: Endpoints::new(rules),
            tables,
            severities,
            domestic: rules
                .rule("endpoint.domestic")
                .map_or(Severity::Info, |r| r.severity),
        }
    }

    /// Classifies a declared URI: by the endpoint table, else, for an HTTP(S)
    /// or WebDAV URI with a public host, an unknown place with low confidence.
    /// Local paths, SSH and private hosts are `None`.
    fn classify(&self, uri: &str) -> Option<(Place, Confidence, Option<String>)> {
        if let Some((place, confidence)) = self.endpoints.classify_uri(uri) {
            return Some((place, confidence, uri_host(uri)));
        }
        let scheme = uri.split_once("://")?.0.to_ascii_lowercase();
        let web = matches!(scheme.as_str(), "http" | "https" | "webdav" | "webdavs");
        let host = uri_host(uri).filter(|h| web && !is_private_host(h))?;
        let place = unknown_place("unknown", "unknown", "cloud_service");
        Some((place, Confidence::Low, Some(host)))
    }

    fn severity(&self, d: &Declared) -> Severity {
        match d.place.kind() {
            Kind::DomesticEndpoint => self.domestic,
            _ => self
                .severities
                .get(d.rule)
                .copied()
                .unwrap_or(Severity::Medium),
        }
    }

    fn finding(&self, hay: &Haystack<'_>, d: Declared) -> RawFinding {
        let mut attributes = d.place.attributes(d.host.as_deref().unwrap_or(""));
        if d.host.is_none() {
            attributes.remove("host");
        }
        for (k, v) in &d.extra {
            attributes.insert(*k, v.clone());
        }
        RawFinding {
            rule: d.rule.into(),
            kind: d.place.kind(),
            span: hay.abs(d.span.start)..hay.abs(d.span.end),
            value: d.value.clone().into_bytes(),
            confidence: d.confidence,
            severity: self.severity(&d),
            attributes,
        }
    }

    /// A country for a declared region or zone of a provider's region table.
    fn region_country(&self, table: &str, region: &str) -> (String, String) {
        let norm: String = region.to_ascii_lowercase().replace([' ', '_'], "");
        let regions = self.tables.get(table);
        let lookup = |r: &str| regions.and_then(|t| t.get(r)).cloned();
        let zone_stripped = norm
            .rsplit_once('-')
            .filter(|(_, z)| z.len() == 1)
            .map(|(r, _)| r);
        match (
            lookup(&norm),
            zone_stripped.and_then(|r| Some((r, lookup(r)?))),
        ) {
            (Some(c), _) => (norm, c),
            (None, Some((r, c))) => (r.to_string(), c),
            _ => (norm, "unknown".into()),
        }
    }
}

// ─── Terraform ────────────────────────────────────────────────────────────────

/// A forgiving reader of Terraform/OpenTofu HCL: enough to find provider and
/// resource blocks and their top-level attributes. Every step advances, so
/// malformed input ends the scan instead of looping; nothing indexes out of range.
mod terraform {
    use std::ops::Range;

    use shekara_signatures::Confidence;

    use super::{text, unknown_place, Declared, DeclaredEgress};

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Tok {
        Ident,
        Str,
        Open,
        Close,
        Eq,
        Other,
    }

    /// A token and its byte range (for strings: the content, without quotes).
    type Token = (Tok, Range<usize>);

    /// A top-level attribute value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Value {
        Str(String),
        Ref(String),
        Expr,
    }

    /// A top-level block: `provider "aws" { … }`.
    #[derive(Debug)]
    struct Block {
        kind: String,
        labels: Vec<String>,
        header: Range<usize>,
        attrs: Vec<(String, Value)>,
    }

    impl Block {
        fn attr(&self, keys: &[&str]) -> Option<&Value> {
            keys.iter()
                .find_map(|k| self.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v))
        }

        fn str_attr(&self, keys: &[&str]) -> Option<&str> {
            match self.attr(keys)? {
                Value::Str(s) => Some(s),
                _ => None,
            }
        }
    }

    /// Terraform provider name → (provider display name, region table).
    const PROVIDERS: &[(&str, &str, &str)] = &[
        ("aws", "Amazon Web Services", "aws"),
        ("google", "Google Cloud", "gcp"),
        ("google-beta", "Google Cloud", "gcp"),
        ("azurerm", "Microsoft Azure", "azure"),
        ("alicloud", "Alibaba Cloud", "alibaba"),
        ("huaweicloud", "Huawei Cloud", "huawei"),
        ("oci", "Oracle Cloud", "oracle"),
        ("yandex", "Yandex Cloud", "yandex"),
    ];

    /// Storage resource types.
    const STORAGE: &[&str] = &[
        "aws_s3_bucket",
        "google_storage_bucket",
        "azurerm_storage_account",
        "azurerm_storage_container",
        "yandex_storage_bucket",
        "alicloud_oss_bucket",
        "huaweicloud_obs_bucket",
        "oci_objectstorage_bucket",
    ];

    const REGION_KEYS: &[&str] = &["region", "location", "zone"];

    fn is_ident_start(b: u8) -> bool {
        b.is_ascii_alphabetic() || b == b'_'
    }

    fn is_ident_byte(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
    }

    /// End of a comment or heredoc starting at `i`, if one starts there.
    fn skip_trivia(src: &[u8], i: usize) -> Option<usize> {
        let rest = &src[i..];
        if rest.starts_with(b"#") || rest.starts_with(b"//") {
            return Some(super::find(rest, b"\n").map_or(src.len(), |n| i + n + 1));
        }
        if rest.starts_with(b"/*") {
            return Some(super::find(&rest[2..], b"*/").map_or(src.len(), |n| i + n + 4));
        }
        if rest.starts_with(b"<<") {
            return Some(skip_heredoc(src, i + 2));
        }
        None
    }

    /// End of a heredoc whose marker starts at `i` (after `<<`).
    fn skip_heredoc(src: &[u8], mut i: usize) -> usize {
        if src.get(i) == Some(&b'-') {
            i += 1;
        }
        let len = super::run_after(src, i, 64, is_ident_byte);
        let marker = &src[i..i + len];
        let mut pos = i + len;
        while len > 0 && pos < src.len() {
            let line_end = super::find(&src[pos..], b"\n").map_or(src.len(), |n| pos + n);
            if src[pos..line_end].trim_ascii() == marker {
                return line_end;
            }
            pos = line_end + 1;
        }
        pos.min(src.len()).max(i + 1)
    }

    /// A string token starting at the quote `i`: content range and the end.
    fn string_at(src: &[u8], i: usize) -> (Range<usize>, usize) {
        let mut j = i + 1;
        while j < src.len() && src[j] != b'"' && src[j] != b'\n' {
            j += if src[j] == b'\\' { 2 } else { 1 };
        }
        let end = j.min(src.len());
        (i + 1..end, (end + 1).min(src.len()).max(i + 1))
    }

    fn lex(src: &[u8]) -> Vec<Token> {
        let mut toks = Vec::new();
        let mut i = 0;
        while i < src.len() {
            let b = src[i];
            if b.is_ascii_whitespace() {
                i += 1;
            } else if let Some(end) = skip_trivia(src, i) {
                i = end.max(i + 1);
            } else if b == b'"' {
                let (content, end) = string_at(src, i);
                toks.push((Tok::Str, content));
                i = end;
            } else if is_ident_start(b) {
                let len = super::run_after(src, i, usize::MAX, is_ident_byte);
                toks.push((Tok::Ident, i..i + len));
                i += len;
            } else {
                toks.push((punct(src, i), i..i + 1));
                i += 1;
            }
        }
        toks
    }

    fn punct(src: &[u8], i: usize) -> Tok {
        match (src[i], src.get(i + 1)) {
            (b'{', _) => Tok::Open,
            (b'}', _) => Tok::Close,
            (b'=', Some(b'=' | b'>')) => Tok::Other,
            (b'=', _) => Tok::Eq,
            _ => Tok::Other,
        }
    }

    /// Index of the token closing the brace at `open`, or the token count.
    fn matching_close(toks: &[Token], open: usize) -> usize {
        let mut depth = 0usize;
        for (k, (t, _)) in toks.iter().enumerate().skip(open) {
            match t {
                Tok::Open => depth += 1,
                Tok::Close if depth <= 1 => return k,
                Tok::Close => depth -= 1,
                _ => {}
            }
        }
        toks.len()
    }

    /// The attributes at the top level of a block body (nested blocks skipped).
    fn attributes(src: &[u8], body: &[Token]) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        for (k, (t, r)) in body.iter().enumerate() {
            match t {
                Tok::Open => depth += 1,
                Tok::Close => depth = depth.saturating_sub(1),
                Tok::Ident if depth == 0 && matches!(body.get(k + 1), Some((Tok::Eq, _))) => {
                    out.push((text(&src[r.clone()]), value(src, body.get(k + 2))));
                }
                _ => {}
            }
        }
        out
    }

    fn value(src: &[u8], tok: Option<&Token>) -> Value {
        match tok {
            Some((Tok::Str, r)) if !src[r.clone()].starts_with(b"${") => {
                Value::Str(text(&src[r.clone()]))
            }
            Some((Tok::Ident, r)) => Value::Ref(text(&src[r.clone()])),
            _ => Value::Expr,
        }
    }

    /// The top-level blocks of a file.
    fn blocks(src: &[u8]) -> Vec<Block> {
        let toks = lex(src);
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let labels = toks[i + 1..]
                .iter()
                .take_while(|(t, _)| *t == Tok::Str)
                .count();
            let open = i + 1 + labels;
            let header = toks[i].0 == Tok::Ident && matches!(toks.get(open), Some((Tok::Open, _)));
            if !header {
                i = if toks[i].0 == Tok::Open {
                    matching_close(&toks, i) + 1
                } else {
                    i + 1
                };
                continue;
            }
            let close = matching_close(&toks, open);
            out.push(block(
                src,
                &toks[i..open],
                &toks[open + 1..close.min(toks.len())],
            ));
            i = close + 1;
        }
        out
    }

    fn block(src: &[u8], head: &[Token], body: &[Token]) -> Block {
        let start = head[0].1.start;
        let end = head.last().map_or(start, |(t, r)| {
            if *t == Tok::Str {
                (r.end + 1).min(src.len())
            } else {
                r.end
            }
        });
        Block {
            kind: text(&src[head[0].1.clone()]),
            labels: head[1..]
                .iter()
                .map(|(_, r)| text(&src[r.clone()]))
                .collect(),
            header: start..end,
            attrs: attributes(src, body),
        }
    }

    fn provider_of(name: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
        PROVIDERS.iter().find(|(n, _, _)| *n == name)
    }

    /// The provider block a resource uses: its `provider = aws.alias`, else
    /// the provider's default (un-aliased) block, else any block of it.
    fn provider_block<'b>(blocks: &'b [Block], name: &str, r: &Block) -> Option<&'b Block> {
        let alias = match r.attr(&["provider"]) {
            Some(Value::Ref(s)) => s.split_once('.').map(|(_, a)| a.to_string()),
            _ => None,
        };
        let of_provider = || {
            blocks
                .iter()
                .filter(|b| b.kind == "provider" && b.labels.first().is_some_and(|l| l == name))
        };
        let aliased = |b: &&Block| b.str_attr(&["alias"]) == alias.as_deref();
        of_provider().find(aliased).or_else(|| of_provider().next())
    }

    /// Every declaration in a Terraform file.
    pub(super) fn declarations(d: &DeclaredEgress, src: &[u8]) -> Vec<Declared> {
        let blocks = blocks(src);
        let mut out = Vec::new();
        for b in &blocks {
            let found = match b.kind.as_str() {
                "provider" => provider_decl(d, src, b),
                "resource" => storage_decl(d, src, &blocks, b),
                _ => None,
            };
            out.extend(found);
        }
        out
    }

    fn provider_decl(d: &DeclaredEgress, src: &[u8], b: &Block) -> Option<Declared> {
        let name = b.labels.first()?;
        let &(_, display, table) = provider_of(name)?;
        let region = b.str_attr(REGION_KEYS);
        let mut decl = declared(d, src, b, display, table, region);
        decl.extra.push(("resource", format!("provider.{name}")));
        Some(decl)
    }

    fn storage_decl(
        d: &DeclaredEgress,
        src: &[u8],
        blocks: &[Block],
        r: &Block,
    ) -> Option<Declared> {
        let kind = r.labels.first().filter(|k| STORAGE.contains(&k.as_str()))?;
        let name = PROVIDERS
            .iter()
            .rev()
            .find(|(n, _, _)| kind.starts_with(&format!("{n}_")))?
            .0;
        let &(_, display, table) = provider_of(name)?;
        let own = r.str_attr(&["region", "location"]);
        let inherited = provider_block(blocks, name, r).and_then(|p| p.str_attr(REGION_KEYS));
        let mut decl = declared(d, src, r, display, table, own.or(inherited));
        decl.rule = "egress.terraform.storage";
        decl.place.service = kind.clone();
        decl.place.category = "object_storage".into();
        decl.extra.push(("resource", r.labels.join(".")));
        if let Some(bucket) = r.str_attr(&["bucket", "name"]) {
            decl.extra.push(("bucket", bucket.to_string()));
        }
        Some(decl)
    }

    fn declared(
        d: &DeclaredEgress,
        src: &[u8],
        b: &Block,
        display: &str,
        table: &str,
        region: Option<&str>,
    ) -> Declared {
        let mut place = unknown_place(display, "Terraform provider", "cloud_service");
        let mut confidence = Confidence::Medium;
        if let Some(region) = region {
            let (region, country) = d.region_country(table, region);
            confidence = if country == "unknown" {
                Confidence::Medium
            } else {
                Confidence::High
            };
            (place.region, place.country) = (region, country);
        }
        Declared {
            rule: "egress.terraform.provider",
            span: b.header.clone(),
            value: text(&src[b.header.clone()]),
            place,
            host: None,
            confidence,
            extra: vec![("source", "terraform".into())],
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn nested_blocks_do_not_leak_attributes() {
            let src = b"provider \"aws\" {\n  assume_role {\n    region = \"us-east-1\"\n  }\n  region = \"eu-west-1\"\n}\n";
            let b = blocks(src);
            assert_eq!(b.len(), 1);
            assert_eq!(b[0].str_attr(&["region"]), Some("eu-west-1"));
        }

        #[test]
        fn malformed_input_never_panics_or_hangs() {
            let inputs: [&[u8]; 9] = [
                b"provider \"aws\" {",
                b"}}}} provider",
                b"provider \"aws",
                b"<<EOF\nprovider \"aws\" {}",
                b"/* provider \"aws\" {}",
                b"resource \"aws_s3_bucket\" \"b\" { provider = }",
                b"\"\\",
                b"= = {",
                b"provider \"aws\" { region = \"eu-west-1\" \n",
            ];
            for src in inputs {
                let _ = blocks(src);
            }
            for len in 0..200 {
                let src: Vec<u8> = (0..len)
                    .map(|i| b"{}\"=#/*<<a\n\\ provider"[i % 21])
                    .collect();
                let _ = blocks(&src);
            }
        }

        #[test]
        fn comments_strings_and_heredocs_are_skipped() {
            let src = b"# provider \"aws\" {}\nlocals {\n  x = <<EOT\n}\nEOT\n}\nprovider \"google\" {\n  region = \"europe-west3\" // {\n}\n";
            let b = blocks(src);
            assert_eq!(
                b.iter().map(|b| b.kind.as_str()).collect::<Vec<_>>(),
                ["locals", "provider"]
            );
            assert_eq!(b[1].str_attr(REGION_KEYS), Some("europe-west3"));
        }

        #[test]
        fn resource_uses_aliased_provider() {
            let src = b"provider \"aws\" {\n region = \"us-east-1\"\n}\nprovider \"aws\" {\n alias = \"eu\"\n region = \"eu-central-1\"\n}\nresource \"aws_s3_bucket\" \"b\" {\n provider = aws.eu\n bucket = \"x\"\n}\n";
            let d = DeclaredEgress::new(shekara_signatures::Ruleset::builtin());
            let found = declarations(&d, src);
            assert_eq!(found.len(), 3);
            assert_eq!(found[2].place.country, "DE");
            assert_eq!(found[2].value, "resource \"aws_s3_bucket\" \"b\"");
        }
    }
}

// ─── DVC ──────────────────────────────────────────────────────────────────────

/// File name endings of data, logs and binaries: no code or configuration
/// declares egress in them, so this detector's anchors are not searched there.
const DATA_ENDINGS: &[&str] = &[
    ".csv",
    ".tsv",
    ".jsonl",
    ".ndjson",
    ".log",
    ".bin",
    ".dat",
    ".parquet",
    ".avro",
    ".orc",
    ".npy",
    ".npz",
    ".pkl",
    ".gz",
    ".zst",
    ".bz2",
    ".xz",
    ".zip",
    ".tar",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".pdf",
    ".mp4",
    ".wav",
    ".so",
    ".dll",
    ".exe",
    ".o",
    ".a",
    ".pyc",
    ".onnx",
    ".pt",
    ".safetensors",
];

/// Whether `path` names a data file (see [`DATA_ENDINGS`]); case-insensitive.
fn is_data_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    DATA_ENDINGS.iter().any(|end| {
        name.len() >= end.len()
            && name.as_bytes()[name.len() - end.len()..].eq_ignore_ascii_case(end.as_bytes())
    })
}

fn is_dvc_config(path: &str) -> bool {
    path.ends_with(".dvc/config") || path.ends_with(".dvc/config.local")
}

/// The `key = value` lines of a config section: key, value span.
fn section_values(bytes: &[u8], body: Range<usize>) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut line_start = body.start;
    for line in bytes[body.clone()].split(|&b| b == b'\n') {
        let at = line_start;
        line_start += line.len() + 1;
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let key = text(&line[..eq]).trim().to_string();
        let lead = run_after(line, eq + 1, line.len(), |b| b == b' ' || b == b'\t');
        let len = run_after(line, eq + 1 + lead, line.len(), |b| {
            !b.is_ascii_whitespace()
        });
        out.push((key, at + eq + 1 + lead..at + eq + 1 + lead + len));
    }
    out
}

impl DeclaredEgress {
    fn on_dvc(&self, hay: &Haystack<'_>, at: Range<usize>) -> Option<Declared> {
        let bytes = hay.bytes;
        let open = match at.start.checked_sub(1).map(|i| bytes[i]) {
            Some(b'[') => at.start - 1,
            Some(b'\'') if at.start >= 2 && bytes[at.start - 2] == b'[' => at.start - 2,
            _ => return None,
        };
        let name_len = run_after(bytes, at.end, 128, |b| b != b'"' && b != b'\n');
        let name = text(&bytes[at.end..at.end + name_len]);
        let body_start = at.end + find(&bytes[at.end..], b"\n")? + 1;
        let limit = (open + LOOK_BACK).min(bytes.len());
        let body_end =
            find(&bytes[body_start.min(limit)..limit], b"\n[").map_or(limit, |i| body_start + i);
        let values = section_values(bytes, body_start..body_end.max(body_start));
        let get = |k: &str| {
            values
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, r)| r.clone())
        };
        let url = get("url")?;
        let endpoint = get("endpointurl");
        let via_endpoint = endpoint
            .clone()
            .and_then(|r| self.classify(&text(&bytes[r])));
        let (place, confidence, host) =
            via_endpoint.or_else(|| self.classify(&text(&bytes[url.clone()])))?;
        let end = endpoint.map_or(url.end, |e| e.end.max(url.end));
        Some(Declared {
            rule: "egress.dvc.remote",
            span: open..end,
            value: text(&bytes[url]),
            place,
            host,
            confidence,
            extra: vec![("source", "dvc_remote".into()), ("remote", name)],
        })
    }
}

// ─── MLflow ───────────────────────────────────────────────────────────────────

/// The value after an MLflow anchor: separators skipped, then a run of URI bytes.
fn mlflow_value(bytes: &[u8], from: usize) -> Option<Range<usize>> {
    let sep = |b: u8| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'=' | b':' | b'(' | b']');
    let mut start = from + run_after(bytes, from, 32, sep);
    if bytes.get(start..)?.starts_with(b"uri=") {
        start += 4 + run_after(bytes, start + 4, 2, |b| b == b'"' || b == b'\'');
    }
    let len = run_after(bytes, start, LOOK_AHEAD, is_value_byte);
    let first = *bytes.get(start)?;
    (len > 0 && first.is_ascii_alphanumeric()).then_some(start..start + len)
}

fn databricks_place() -> Place {
    let mut place = unknown_place("Databricks", "Managed MLflow", "tracking");
    place.operator_country = Some("US".into());
    place
}

impl DeclaredEgress {
    fn on_mlflow(&self, hay: &Haystack<'_>, at: Range<usize>) -> Option<Declared> {
        let value = mlflow_value(hay.bytes, at.end)?;
        let uri = text(&hay.bytes[value.clone()]);
        let (place, confidence, host) = if uri == "databricks" || uri.starts_with("databricks") {
            (databricks_place(), Confidence::High, None)
        } else {
            self.classify(&uri)?
        };
        Some(Declared {
            rule: "egress.mlflow",
            span: at.start..value.end,
            value: uri,
            place,
            host,
            confidence,
            extra: vec![("source", "mlflow".into())],
        })
    }
}

// ─── Hugging Face ─────────────────────────────────────────────────────────────

/// The arguments after a call anchor: up to the matching `)` or [`LOOK_AHEAD`] bytes.
fn call_args(bytes: &[u8], from: usize) -> &[u8] {
    let mut depth = 1usize;
    let tail = &bytes[from..(from + LOOK_AHEAD).min(bytes.len())];
    for (i, &b) in tail.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' if depth == 1 => return &tail[..i],
            b')' => depth -= 1,
            _ => {}
        }
    }
    tail
}

/// The repository an upload names: `repo_id="…"` or a first string argument.
fn repo_of(args: &[u8]) -> Option<String> {
    let from = find(args, b"repo_id").map_or(0, |i| i + 7);
    let rest = &args[from..];
    let q = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let lead = &rest[..q];
    if lead
        .iter()
        .any(|&b| !matches!(b, b' ' | b'=' | b':' | b'\t' | b'\n'))
    {
        return None;
    }
    let len = run_after(rest, q + 1, 128, |b| b != rest[q] && b != b'\n');
    let repo = text(&rest[q + 1..q + 1 + len]);
    (!repo.is_empty()).then_some(repo)
}

impl DeclaredEgress {
    fn hub_place(&self) -> Place {
        let hub = self.endpoints.classify_host("huggingface.co");
        hub.unwrap_or_else(|| unknown_place("Hugging Face", "Hub", "model_hub"))
    }

    fn on_hf(&self, hay: &Haystack<'_>, at: Range<usize>, role: Role) -> Option<Declared> {
        let bytes = hay.bytes;
        let args = call_args(bytes, at.end);
        if role == Role::HfUpload && !self.hf_upload_context(bytes, &at, args) {
            return None;
        }
        let mut extra = vec![("source", "huggingface_hub".to_string())];
        if let Some(repo) = repo_of(args) {
            extra.push(("repo", repo));
        }
        Some(Declared {
            rule: "egress.huggingface.push",
            span: at.start..at.end - 1,
            value: text(&bytes[at.start..at.end - 1]),
            place: self.hub_place(),
            host: None,
            confidence: Confidence::High,
            extra,
        })
    }

    /// Whether an `upload_file(`-like call is the Hugging Face Hub's: its
    /// arguments name a repo, or the code nearby imports the Hub client.
    fn hf_upload_context(&self, bytes: &[u8], at: &Range<usize>, args: &[u8]) -> bool {
        let hub_args = [&b"repo_id"[..], b"path_in_repo", b"repo_type"];
        if hub_args.iter().any(|a| find(args, a).is_some()) {
            return true;
        }
        let before = &bytes[at.start.saturating_sub(LOOK_BACK)..at.start];
        let hub_near =
            find(before, b"huggingface_hub").is_some() || find(before, b"HfApi").is_some();
        hub_near && find(args, b"Bucket").is_none()
    }
}

// ─── Hosted fine-tuning ───────────────────────────────────────────────────────

impl DeclaredEgress {
    fn on_finetune(&self, hay: &Haystack<'_>, at: Range<usize>, role: Role) -> Option<Declared> {
        let bytes = hay.bytes;
        let start = match role {
            Role::FineTunePurpose => {
                at.start.saturating_sub(24)
                    + rfind(&bytes[at.start.saturating_sub(24)..at.start], b"purpose")?
            }
            _ => at.start,
        };
        let (place, confidence, host) = self.finetune_provider(bytes, start);
        let value = text(&bytes[start..at.end]);
        Some(Declared {
            rule: "egress.finetune",
            span: start..at.end,
            value,
            place,
            host,
            confidence,
            extra: vec![("source", "finetune".into())],
        })
    }

    /// The provider a fine-tuning call goes to: the host after the nearest
    /// `base_url`-like key before it, else OpenAI.
    fn finetune_provider(&self, bytes: &[u8], at: usize) -> (Place, Confidence, Option<String>) {
        let before = &bytes[at.saturating_sub(LOOK_BACK)..at];
        let key = BASE_URL_KEYS
            .iter()
            .filter_map(|k| rfind(before, k.as_bytes()))
            .max();
        let host = key.and_then(|k| host_after(&before[k..]));
        let openai = || self.endpoints.classify_host("api.openai.com");
        match host {
            Some(h) => match self.endpoints.classify_host(&h) {
                Some(place) => (place, Confidence::High, Some(h)),
                None => (
                    unknown_place("unknown", "unknown", "ai_api"),
                    Confidence::Low,
                    Some(h),
                ),
            },
            None => match openai() {
                Some(place) => (place, Confidence::Medium, None),
                None => (
                    unknown_place("OpenAI", "OpenAI API", "ai_api"),
                    Confidence::Medium,
                    None,
                ),
            },
        }
    }
}

/// The host of the first `://` URL within 200 bytes.
fn host_after(bytes: &[u8]) -> Option<String> {
    let window = &bytes[..bytes.len().min(200)];
    let s = find(window, b"://")? + 3;
    let len = run_after(window, s, 254, |b| {
        b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
    });
    let host = text(&window[s..s + len]).to_ascii_lowercase();
    (!host.is_empty()).then(|| host.trim_end_matches('.').to_string())
}

impl Detector for DeclaredEgress {
    fn id(&self) -> &str {
        "declared_egress"
    }

    fn anchors(&self) -> Vec<Vec<u8>> {
        ANCHORS.iter().map(|(a, _)| a.as_bytes().to_vec()).collect()
    }

    fn on_anchor(
        &self,
        hay: &Haystack<'_>,
        anchor: usize,
        at: Range<usize>,
        out: &mut Vec<RawFinding>,
    ) {
        let Some(&(_, role)) = ANCHORS.get(anchor) else {
            return;
        };
        let found = match role {
            Role::Dvc if is_dvc_config(hay.path) => self.on_dvc(hay, at),
            Role::Dvc => None,
            Role::Mlflow => self.on_mlflow(hay, at),
            Role::HfPush | Role::HfUpload => self.on_hf(hay, at, role),
            Role::FineTune | Role::FineTunePurpose => self.on_finetune(hay, at, role),
        };
        if let Some(d) = found {
            out.push(self.finding(hay, d));
        }
    }

    fn wants_anchors_in(&self, path: &str) -> bool {
        !is_data_file(path)
    }

    fn wants_whole_file(&self, path: &str) -> bool {
        path.ends_with(".tf")
    }

    fn on_whole_file(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        for d in terraform::declarations(self, hay.bytes) {
            out.push(self.finding(hay, d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str, path: &str) -> Vec<RawFinding> {
        crate::Engine::builtin().scan_input(text.as_bytes(), path)
    }

    fn egress(text: &str, path: &str) -> Vec<RawFinding> {
        scan(text, path)
            .into_iter()
            .filter(|f| f.rule.starts_with("egress."))
            .collect()
    }

    #[test]
    fn code_anchors_are_not_searched_in_data_files() {
        let e = DeclaredEgress::new(Ruleset::builtin());
        assert!(e.wants_anchors_in("train.py"));
        assert!(e.wants_anchors_in(".env"));
        assert!(e.wants_anchors_in("Dockerfile"));
        assert!(!e.wants_anchors_in("data/users.CSV"));
        assert!(!e.wants_anchors_in("logs/app.log"));
        assert!(scan("ds.push_to_hub(\"org/x\")", "dump.csv").is_empty());
        assert!(!scan("ds.push_to_hub(\"org/x\")", "train.py").is_empty());
    }

    #[test]
    fn dvc_local_and_ssh_remotes_are_not_findings() {
        let cfg = "[core]\n    remote = local\n['remote \"local\"']\n    url = /mnt/backup/dvc\n['remote \"nas\"']\n    url = ssh://nas.example.kz/dvc\n";
        assert!(scan(cfg, "proj/.dvc/config").is_empty());
    }

    #[test]
    fn dvc_remote_with_custom_endpoint_uses_the_endpoint() {
        let cfg = "['remote \"yc\"']\n    url = s3://bkt/dvc\n    endpointurl = https://storage.yandexcloud.kz\n";
        // The bare `s3://bkt` is still reported by the endpoint detector: the
        // engine merges overlapping findings of one kind only.
        let f = egress(cfg, ".dvc/config");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].kind, Kind::DomesticEndpoint);
        assert_eq!(&f[0].attributes["remote"], "yc");
        assert_eq!(f[0].value, b"s3://bkt/dvc");
    }

    #[test]
    fn dvc_section_only_in_dvc_config() {
        let cfg = "['remote \"s\"']\n    url = s3://bkt/dvc\n";
        assert!(egress(cfg, "notes.txt").is_empty());
        assert_eq!(egress(cfg, ".dvc/config").len(), 1);
    }

    #[test]
    fn mlflow_local_and_private_are_not_findings() {
        for t in [
            "MLFLOW_TRACKING_URI=http://localhost:5000",
            "mlflow.set_tracking_uri(\"file:./mlruns\")",
            "MLFLOW_TRACKING_URI=http://mlflow:5000",
            "os.getenv(\"MLFLOW_TRACKING_URI\")",
            "MLFLOW_TRACKING_URI=http://10.0.0.5:5000",
        ] {
            assert!(egress(t, "x.py").is_empty(), "{t}");
        }
    }

    #[test]
    fn mlflow_unknown_public_host_is_low() {
        let f = egress(
            "export MLFLOW_TRACKING_URI=https://mlflow.example.com",
            "env.sh",
        );
        assert_eq!(f[0].confidence, Confidence::Low);
        assert_eq!(&f[0].attributes["country"], "unknown");
    }

    #[test]
    fn finetune_provider_follows_base_url() {
        let src = "client = OpenAI(base_url=\"https://api.together.xyz/v1\")\nclient.fine_tuning.jobs.create(training_file=f)";
        let f = egress(src, "t.py");
        assert_eq!(&f[0].attributes["provider"], "Together AI");
    }

    #[test]
    fn upload_file_needs_hub_context() {
        assert!(egress("s3.upload_file('a.csv', 'bkt', 'a.csv')", "u.py").is_empty());
        assert_eq!(
            egress(
                "api.upload_file(path_or_fileobj='a', path_in_repo='a', repo_id='o/r')",
                "u.py"
            )
            .len(),
            1
        );
    }

    /// Random splices of tricky fragments never panic, whole or windowed.
    #[test]
    fn random_fragments_never_panic() {
        let parts = [
            "provider \"aws\" {",
            "}",
            "region = \"",
            "\"",
            "['remote \"",
            "url = ",
            "s3://",
            "\n",
            "<<EOF",
            "MLFLOW_TRACKING_URI=",
            "push_to_hub(",
            "upload_file(",
            "purpose=\"fine-tune\"",
            "base_url=\"https://",
            "amazonaws.com",
            ".s3.",
            "@",
            "arn:aws:s3:",
            ":",
            "{",
            "(",
            ")",
            "é",
            "\\",
            "abfss://",
            "hf.co",
            "#",
        ];
        let engine = crate::Engine::builtin();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100 {
            let mut text = String::new();
            for _ in 0..40 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(parts[(seed >> 33) as usize % parts.len()]);
            }
            for path in ["main.tf", ".dvc/config", "x.py"] {
                let _ = scan(&text, path);
                let mut out = Vec::new();
                for start in (0..text.len()).step_by(5) {
                    let end = (start + 5).min(text.len());
                    let hay = Haystack {
                        bytes: text.as_bytes(),
                        owned: start..end,
                        base: 0,
                        path,
                    };
                    engine.scan(&hay, &mut out);
                }
            }
        }
    }

    #[test]
    fn region_country_strips_zones_and_display_names() {
        let d = DeclaredEgress::new(Ruleset::builtin());
        assert_eq!(
            d.region_country("yandex", "kz1-a"),
            ("kz1".into(), "KZ".into())
        );
        assert_eq!(
            d.region_country("azure", "West Europe"),
            ("westeurope".into(), "NL".into())
        );
        assert_eq!(
            d.region_country("gcp", "europe-west1-b"),
            ("europe-west1".into(), "BE".into())
        );
        assert_eq!(d.region_country("gcp", "EU").1, "unknown");
    }
}
