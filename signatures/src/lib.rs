//! Rule data for shekara, and the typed schema it is read into.
//!
//! Rules are data: every rule, endpoint table entry, legal reference and
//! breach-notification window lives in a TOML file under `signatures/data/`,
//! embedded into the binary at build time. This crate parses that data into
//! typed structures ([`Ruleset`]), checks it ([`Ruleset::lint`]) and computes
//! a digest over it ([`Ruleset::digest`]) that reports and evidence carry, so
//! a reader knows exactly which rules produced a result.
//!
//! Every rule carries positive and negative examples. The detectors crate has
//! a test that runs each example through the real engine and checks what was
//! captured, not only that something matched.
//!
//! ```
//! let rules = shekara_signatures::Ruleset::builtin();
//! assert!(rules.rule("kz.iin").is_some());
//! assert!(rules.lint().is_empty());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

/// A rule id as findings carry it: the interned id (no allocation per
/// finding, and the one copy stays in cache while a report is written), or
/// an owned one read back from a report or a cache.
pub type RuleId = std::borrow::Cow<'static, str>;

/// The one `'static` copy of `id`, made on first use.
///
/// For rule ids built at run time (`endpoint.<id>` from the endpoint table):
/// each distinct id is stored once per process, so the memory this keeps is
/// bounded by the number of distinct ids, not by findings or detector builds.
pub fn intern(id: &str) -> &'static str {
    static IDS: OnceLock<std::sync::Mutex<std::collections::HashSet<&'static str>>> =
        OnceLock::new();
    let mut ids = IDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&known) = ids.get(id) {
        return known;
    }
    let made: &'static str = Box::leak(id.to_owned().into_boxed_str());
    ids.insert(made);
    made
}

/// The embedded data files, by name. The digest is computed over these bytes.
pub const DATA_FILES: &[(&str, &str)] = &[
    ("rules.toml", include_str!("../data/rules.toml")),
    ("endpoints.toml", include_str!("../data/endpoints.toml")),
    ("legal.toml", include_str!("../data/legal.toml")),
    ("biometric.toml", include_str!("../data/biometric.toml")),
];

/// What a finding is about. Serialized in snake case (`foreign_endpoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Kazakh individual identification number.
    Iin,
    /// Kazakh business identification number.
    Bin,
    /// A biometric template (ISO/IEC 19794, ANSI 378, …).
    BiometricTemplate,
    /// A face embedding array.
    FaceEmbedding,
    /// A folder of face images.
    FaceImageStore,
    /// A face-recognition model.
    BiometricModel,
    /// Code that processes biometrics.
    BiometricCode,
    /// An endpoint that stores or processes data outside Kazakhstan (or of unknown location).
    ForeignEndpoint,
    /// An endpoint inside Kazakhstan.
    DomesticEndpoint,
}

impl Kind {
    /// Every kind, in declaration order. The cache's encoding numbers kinds
    /// by their place here: add new kinds at the end.
    pub const ALL: [Kind; 9] = [
        Kind::Iin,
        Kind::Bin,
        Kind::BiometricTemplate,
        Kind::FaceEmbedding,
        Kind::FaceImageStore,
        Kind::BiometricModel,
        Kind::BiometricCode,
        Kind::ForeignEndpoint,
        Kind::DomesticEndpoint,
    ];

    /// The snake-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Iin => "iin",
            Kind::Bin => "bin",
            Kind::BiometricTemplate => "biometric_template",
            Kind::FaceEmbedding => "face_embedding",
            Kind::FaceImageStore => "face_image_store",
            Kind::BiometricModel => "biometric_model",
            Kind::BiometricCode => "biometric_code",
            Kind::ForeignEndpoint => "foreign_endpoint",
            Kind::DomesticEndpoint => "domestic_endpoint",
        }
    }

    /// Whether findings of this kind are personal data (as opposed to egress).
    pub fn is_personal_data(self) -> bool {
        !matches!(
            self,
            Kind::Bin | Kind::ForeignEndpoint | Kind::DomesticEndpoint
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is; ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational: nothing to act on by itself.
    Info,
    /// Worth a look.
    Low,
    /// Should be reviewed before data leaves.
    Medium,
    /// Personal data, or a transfer that needs a legal basis.
    High,
    /// Biometric data.
    Critical,
}

impl Severity {
    /// All severities, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lower-case name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the detector is; ordered from least to most sure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Structurally valid but without supporting context, or in a suspicious place.
    Low,
    /// Structurally valid.
    Medium,
    /// Structurally valid with supporting context.
    High,
}

impl Confidence {
    /// Every confidence, least sure first (the cache's encoding numbers
    /// them by their place here).
    pub const ALL: [Confidence; 3] = [Confidence::Low, Confidence::Medium, Confidence::High];

    /// The lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One example attached to a rule: text that must produce a finding.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The haystack.
    pub text: String,
    /// The exact raw value the finding must capture.
    pub value: String,
    /// The kind the finding must have (defaults to the rule's kind).
    #[serde(default)]
    pub kind: Option<Kind>,
    /// The confidence the finding must have, if given.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// Attributes the finding must carry (a subset check).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The path the text is scanned as, for detectors that look at file names
    /// (Terraform, DVC config); defaults to a plain text file.
    #[serde(default)]
    pub path: Option<String>,
    /// Binary haystack as hex digits (whitespace ignored); replaces `text`
    /// when given (biometric templates are binary).
    #[serde(default)]
    pub hex: Option<String>,
    /// The exact raw value as hex digits; replaces `value` when given.
    #[serde(default)]
    pub value_hex: Option<String>,
}

impl Example {
    /// The bytes to scan: `hex` decoded when given, else `text`.
    pub fn haystack(&self) -> Vec<u8> {
        bytes_of(&self.text, self.hex.as_deref())
    }

    /// The value the finding must capture: `value_hex` decoded when given, else `value`.
    pub fn value_bytes(&self) -> Vec<u8> {
        bytes_of(&self.value, self.value_hex.as_deref())
    }
}

impl NegativeExample {
    /// The bytes to scan: `hex` decoded when given, else `text`.
    pub fn haystack(&self) -> Vec<u8> {
        bytes_of(&self.text, self.hex.as_deref())
    }
}

fn bytes_of(text: &str, hex: Option<&str>) -> Vec<u8> {
    match hex {
        Some(h) => decode_hex(h).unwrap_or_default(),
        None => text.as_bytes().to_vec(),
    }
}

/// Decodes hex digits, ignoring ASCII whitespace; `None` when malformed.
pub fn decode_hex(h: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = h.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// One negative example: text that must not produce a finding of the rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeExample {
    /// The haystack.
    pub text: String,
    /// Why this must not match (documentation only).
    #[serde(default)]
    pub why: String,
    /// The path the text is scanned as (see [`Example::path`]).
    #[serde(default)]
    pub path: Option<String>,
    /// Binary haystack as hex digits; replaces `text` when given.
    #[serde(default)]
    pub hex: Option<String>,
}

/// A detection rule: identity, classification and examples.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, e.g. `kz.iin`.
    pub id: String,
    /// The kind of its findings.
    pub kind: Kind,
    /// A one-line title.
    pub title: String,
    /// What it finds and why it matters.
    pub description: String,
    /// Default severity.
    pub severity: Severity,
    /// Ids of legal references (see `legal.toml`).
    #[serde(default)]
    pub references: Vec<String>,
    /// Texts that must produce a finding.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Texts that must not produce a finding.
    #[serde(default)]
    pub negative_examples: Vec<NegativeExample>,
    /// For rules that no single input can show (folder-level face stores):
    /// the test that proves them instead of examples.
    #[serde(default)]
    pub tested_by: Option<String>,
}

/// Context words that raise the confidence of a national-ID finding.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextWords {
    /// Words that point at an individual's number (IIN / ЖСН / ИИН).
    pub iin: Vec<String>,
    /// Words that point at a legal entity's number (BIN / БСН / БИН).
    pub bin: Vec<String>,
    /// How many bytes before the number are searched.
    pub window: usize,
}

/// A table mapping region codes of one provider to ISO 3166 alpha-2 countries.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionTable {
    /// Table id, referenced by endpoints.
    pub id: String,
    /// Region code → country.
    pub regions: BTreeMap<String, String>,
}

/// One entry of the endpoint table: a service of a provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Stable id, e.g. `aws.s3`; findings carry rule `endpoint.<id>`.
    pub id: String,
    /// Provider name, e.g. `Amazon Web Services`.
    pub provider: String,
    /// Service name, e.g. `S3`.
    pub service: String,
    /// Category: `object_storage`, `ai_api`, `model_hub`, `tracking`, `cloud_service`.
    pub category: String,
    /// Host patterns, see the endpoint detector for their grammar.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// URI schemes including `://`, e.g. `s3://`.
    #[serde(default)]
    pub schemes: Vec<String>,
    /// Other literal prefixes, e.g. `arn:aws:s3:`.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Region table used to map a captured `{region}` to a country.
    #[serde(default)]
    pub region_table: Option<String>,
    /// Fixed country (ISO 3166 alpha-2) when no region is captured; else `unknown`.
    #[serde(default)]
    pub country: Option<String>,
    /// Fixed region when no region is captured (e.g. `kz1`); else `unknown`.
    #[serde(default)]
    pub region: Option<String>,
    /// Country of the operating company, when it differs from the data location.
    #[serde(default)]
    pub operator_country: Option<String>,
    /// A note carried into the finding's attributes.
    #[serde(default)]
    pub note: Option<String>,
    /// Severity override for this entry (defaults to the rule of its kind).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Texts that must produce a finding of this entry.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Texts that must not produce a finding of this entry.
    #[serde(default)]
    pub negative_examples: Vec<NegativeExample>,
}

/// A legal reference.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Stable id, e.g. `kz.94-V.art12.2`.
    pub id: String,
    /// Citation.
    pub title: String,
    /// What it requires, in brief.
    pub summary: String,
}

/// A breach-notification window for a class of data.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachWindow {
    /// `biometric` or `personal`.
    pub class: String,
    /// ISO 8601 duration, e.g. `PT3H`, `P1D`.
    pub window: String,
    /// Whether the window counts business days.
    #[serde(default)]
    pub business_days: bool,
    /// Legal basis.
    pub basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    context: ContextWords,
    rule: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointsFile {
    region_table: Vec<RegionTable>,
    endpoint: Vec<Endpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BiometricFile {
    rule: Vec<Rule>,
    model: Vec<ModelName>,
    model_keyword: Vec<ModelKeyword>,
    library: Vec<CodeLibrary>,
    face_store: FaceStoreHints,
}

/// A face-recognition model known by its file name.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelName {
    /// The file name, lower case (a trailing `.bz2` on the file is ignored).
    pub name: String,
    /// Whether `name` is a prefix of the file name rather than all of it.
    #[serde(default)]
    pub prefix: bool,
    /// The model family, e.g. `dlib`, `insightface`.
    pub family: String,
    /// What the model does: `recognition`, `detection`, `landmarks`.
    pub task: String,
}

/// A word that, in the name of a model file, says it is a face model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelKeyword {
    /// The word, lower case.
    pub keyword: String,
    /// The model family it names.
    pub family: String,
}

/// A library that processes biometrics, and the code that shows its use.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeLibrary {
    /// The library's name as reported.
    pub library: String,
    /// Literals of imports (`import face_recognition`, `use rustface`).
    #[serde(default)]
    pub imports: Vec<String>,
    /// Literals of calls or API names (`face_recognition.face_encodings(`).
    #[serde(default)]
    pub calls: Vec<String>,
}

/// What makes a folder a face-image store.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceStoreHints {
    /// Aligned-face crop sizes `[width, height]`.
    pub crop_sizes: Vec<[u32; 2]>,
    /// Crop sizes that count only with other evidence (224×224).
    pub weak_crop_sizes: Vec<[u32; 2]>,
    /// Least number of images a folder needs to be judged by its sizes.
    pub min_images: usize,
    /// Least share of crop-sized images (0–1).
    pub min_share: f64,
    /// File names of face-dataset manifests.
    pub manifests: Vec<Manifest>,
}

/// A face-dataset manifest file name: exact, or `prefix*suffix`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The file name pattern (one `*` at most).
    pub pattern: String,
    /// The dataset it belongs to.
    pub dataset: String,
}

/// Biometric rule data beyond the rules themselves.
#[derive(Clone, Debug)]
pub struct Biometric {
    /// Face-recognition models by file name.
    pub models: Vec<ModelName>,
    /// Words in model file names.
    pub model_keywords: Vec<ModelKeyword>,
    /// Biometric-processing libraries.
    pub libraries: Vec<CodeLibrary>,
    /// Face-store hints.
    pub face_store: FaceStoreHints,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegalFile {
    reference: Vec<Reference>,
    breach_window: Vec<BreachWindow>,
}

/// All rule data, parsed.
#[derive(Clone, Debug)]
pub struct Ruleset {
    /// Detection rules.
    pub rules: Vec<Rule>,
    /// Context words for national IDs.
    pub context: ContextWords,
    /// Region tables.
    pub region_tables: Vec<RegionTable>,
    /// Endpoint table, in priority order (first match wins).
    pub endpoints: Vec<Endpoint>,
    /// Legal references.
    pub references: Vec<Reference>,
    /// Breach-notification windows.
    pub breach_windows: Vec<BreachWindow>,
    /// Biometric data: model names, code libraries, face-store hints.
    pub biometric: Biometric,
    digest: String,
}

/// An error in the rule data.
#[derive(Debug)]
pub struct DataError {
    file: &'static str,
    message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signatures/data/{}: {}", self.file, self.message)
    }
}

impl std::error::Error for DataError {}

fn parse<T: for<'de> Deserialize<'de>>(file: &'static str, text: &str) -> Result<T, DataError> {
    toml::from_str(text).map_err(|e| DataError {
        file,
        message: e.to_string(),
    })
}

/// The JSON form of each data file, made from the TOML by `build.rs`
/// (empty when the TOML did not parse).
const JSON_FILES: &[(&str, &str)] = &[
    (
        "rules.toml",
        include_str!(concat!(env!("OUT_DIR"), "/rules.json")),
    ),
    (
        "endpoints.toml",
        include_str!(concat!(env!("OUT_DIR"), "/endpoints.json")),
    ),
    (
        "legal.toml",
        include_str!(concat!(env!("OUT_DIR"), "/legal.json")),
    ),
    (
        "biometric.toml",
        include_str!(concat!(env!("OUT_DIR"), "/biometric.json")),
    ),
];

/// A data file from its JSON form, or from the TOML when that fails (so
/// that an error names the TOML's line).
fn parse_fast<T: for<'de> Deserialize<'de>>(file: &'static str) -> Result<T, DataError> {
    let json = JSON_FILES
        .iter()
        .find(|(n, _)| *n == file)
        .map_or("", |(_, t)| *t);
    serde_json::from_str(json).or_else(|_| parse(file, data(file)))
}

fn data(name: &str) -> &'static str {
    DATA_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or("")
}

impl Ruleset {
    /// Parses the embedded data.
    ///
    /// # Errors
    /// When a data file does not match the schema (unknown keys included).
    pub fn load() -> Result<Ruleset, DataError> {
        Ok(Ruleset::from_files(
            parse_fast("rules.toml")?,
            parse_fast("endpoints.toml")?,
            parse_fast("legal.toml")?,
            parse_fast("biometric.toml")?,
        ))
    }

    /// [`Ruleset::load`] from the TOML itself (the JSON form's reference).
    ///
    /// # Errors
    /// When a data file does not match the schema (unknown keys included).
    pub fn load_toml() -> Result<Ruleset, DataError> {
        Ok(Ruleset::from_files(
            parse("rules.toml", data("rules.toml"))?,
            parse("endpoints.toml", data("endpoints.toml"))?,
            parse("legal.toml", data("legal.toml"))?,
            parse("biometric.toml", data("biometric.toml"))?,
        ))
    }

    fn from_files(
        rules: RulesFile,
        endpoints: EndpointsFile,
        legal: LegalFile,
        bio: BiometricFile,
    ) -> Ruleset {
        let mut rules = rules;
        rules.rule.extend(bio.rule);
        Ruleset {
            rules: rules.rule,
            context: rules.context,
            region_tables: endpoints.region_table,
            endpoints: endpoints.endpoint,
            references: legal.reference,
            breach_windows: legal.breach_window,
            biometric: Biometric {
                models: bio.model,
                model_keywords: bio.model_keyword,
                libraries: bio.library,
                face_store: bio.face_store,
            },
            digest: compute_digest(),
        }
    }

    /// The embedded ruleset, parsed once.
    ///
    /// # Panics
    /// When the embedded data is malformed; a unit test guarantees it is not.
    pub fn builtin() -> &'static Ruleset {
        static RULES: OnceLock<Ruleset> = OnceLock::new();
        RULES.get_or_init(|| match Ruleset::load() {
            Ok(r) => r,
            Err(e) => panic!("embedded rule data is malformed: {e}"),
        })
    }

    /// `blake3:<hex>` over every embedded data file (name and bytes, in order).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The first rule of this kind (the kind's default rule).
    pub fn rule_for_kind(&self, kind: Kind) -> Option<&Rule> {
        self.rules.iter().find(|r| r.kind == kind)
    }

    /// The region table with this id.
    pub fn region_table(&self, id: &str) -> Option<&RegionTable> {
        self.region_tables.iter().find(|t| t.id == id)
    }

    /// The legal reference with this id.
    pub fn reference(&self, id: &str) -> Option<&Reference> {
        self.references.iter().find(|r| r.id == id)
    }

    /// The breach window for a data class (`biometric`, `personal`).
    pub fn breach_window(&self, class: &str) -> Option<&BreachWindow> {
        self.breach_windows.iter().find(|w| w.class == class)
    }

    /// Checks the data for mistakes the schema cannot express; empty when clean.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for r in &self.rules {
            if !ids.insert(r.id.clone()) {
                problems.push(format!("rule {}: duplicate id", r.id));
            }
            if r.tested_by.is_none() && (r.examples.is_empty() || r.negative_examples.is_empty()) {
                problems.push(format!(
                    "rule {}: needs at least one example and one negative example",
                    r.id
                ));
            }
            for reference in &r.references {
                if self.reference(reference).is_none() {
                    problems.push(format!("rule {}: unknown reference {reference}", r.id));
                }
            }
        }
        for e in &self.endpoints {
            if !ids.insert(format!("endpoint.{}", e.id)) {
                problems.push(format!("endpoint {}: duplicate id", e.id));
            }
            if e.examples.is_empty() {
                problems.push(format!("endpoint {}: needs at least one example", e.id));
            }
            if e.hosts.is_empty() && e.schemes.is_empty() && e.prefixes.is_empty() {
                problems.push(format!("endpoint {}: no hosts, schemes or prefixes", e.id));
            }
            if let Some(t) = &e.region_table {
                if self.region_table(t).is_none() {
                    problems.push(format!("endpoint {}: unknown region table {t}", e.id));
                }
            }
            for c in e.country.iter().chain(e.operator_country.iter()) {
                if !is_country(c) {
                    problems.push(format!("endpoint {}: bad country {c}", e.id));
                }
            }
        }
        for t in &self.region_tables {
            for (region, c) in &t.regions {
                if !is_country(c) {
                    problems.push(format!("region table {}: {region} → bad country {c}", t.id));
                }
            }
        }
        for class in ["biometric", "personal"] {
            if self.breach_window(class).is_none() {
                problems.push(format!("legal: no breach window for class {class}"));
            }
        }
        problems
    }
}

/// Whether `c` is an ISO 3166 alpha-2 code (two upper-case ASCII letters) or `unknown`.
pub fn is_country(c: &str) -> bool {
    c == "unknown" || (c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

fn compute_digest() -> String {
    let mut h = blake3::Hasher::new();
    for (name, text) in DATA_FILES {
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    format!("blake3:{}", h.finalize().to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An id interned twice is the one copy; another id is another copy.
    #[test]
    fn interned_ids_are_one_copy_each() {
        let a = intern(&format!("endpoint.{}", "test.one"));
        let b = intern("endpoint.test.one");
        let c = intern("endpoint.test.two");
        assert_eq!(a, "endpoint.test.one");
        assert!(std::ptr::eq(a, b), "the same id, one copy");
        assert_eq!(c, "endpoint.test.two");
        assert!(!std::ptr::eq(a, c));
    }

    /// The JSON that `build.rs` made is what the binary loads: every file
    /// has one, it parses, and the ruleset is the one the TOML gives.
    #[test]
    fn json_form_is_the_toml() {
        for (name, json) in JSON_FILES {
            assert!(!json.is_empty(), "{name}: no JSON form");
            assert!(
                serde_json::from_str::<serde_json::Value>(json).is_ok(),
                "{name}"
            );
        }
        let _: RulesFile = serde_json::from_str(JSON_FILES[0].1).unwrap();
        let _: EndpointsFile = serde_json::from_str(JSON_FILES[1].1).unwrap();
        let _: LegalFile = serde_json::from_str(JSON_FILES[2].1).unwrap();
        let _: BiometricFile = serde_json::from_str(JSON_FILES[3].1).unwrap();
        let fast = format!("{:?}", Ruleset::load().unwrap());
        let toml = format!("{:?}", Ruleset::load_toml().unwrap());
        assert_eq!(fast, toml);
        let names: Vec<&str> = JSON_FILES.iter().map(|(n, _)| *n).collect();
        let data: Vec<&str> = DATA_FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, data, "one JSON form per data file, in order");
    }

    #[test]
    fn embedded_data_parses_and_lints_clean() {
        let rules = Ruleset::load().expect("embedded data parses");
        let problems = rules.lint();
        assert!(problems.is_empty(), "lint problems: {problems:#?}");
    }

    #[test]
    fn digest_is_stable_and_prefixed() {
        let a = Ruleset::load().unwrap();
        let b = Ruleset::load().unwrap();
        assert_eq!(a.digest(), b.digest());
        assert!(a.digest().starts_with("blake3:"));
        assert_eq!(a.digest().len(), "blake3:".len() + 64);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let bad = "[context]\niin=[]\nbin=[]\nwindow=1\nbogus=2\n[[rule]]\nid='x'\n";
        let err = parse::<RulesFile>("rules.toml", bad).err().expect("error");
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
        assert_eq!(Severity::parse("urgent"), None);
    }
}
