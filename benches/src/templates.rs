//! Line templates for the corpus, parsed once into segments.

use shekara_fixtures::{ids, Rng};

/// One piece of a template.
#[derive(Clone, Debug)]
pub(crate) enum Seg {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// A lower-case word.
    Word,
    /// A capitalised word.
    Cap,
    /// A small number, 1–5 digits.
    Num,
    /// Exactly `k` digits, first one non-zero (`k` ≠ 12).
    Digits(usize),
    /// A 12-digit number: mostly random, a small share valid IINs/BINs.
    Twelve,
    /// A URL or URI of a cloud, AI or model-hub endpoint.
    Endpoint,
    /// A URL that is no endpoint of interest.
    OtherUrl,
    /// 16 lower-case hex characters.
    Hex,
    /// An ISO 8601 timestamp.
    Time,
    /// Epoch milliseconds (13 digits).
    Millis,
    /// A few words.
    Sentence,
    /// A fictional full name.
    Name,
    /// A city.
    City,
    /// An amount with two decimals.
    Amount,
}

const WORDS: &[&str] = &[
    "data", "user", "client", "model", "batch", "train", "eval", "config", "record", "value",
    "index", "cache", "token", "layer", "weight", "loss", "path", "file", "buffer", "reader",
    "writer", "parse", "load", "save", "fetch", "upload", "export", "import", "result", "error",
    "count", "total", "offset", "length", "size", "limit", "score", "label", "feature", "sample",
    "stream", "queue", "worker", "task", "job", "node", "shard", "bucket", "region", "account",
];

const CITIES: &[&str] = &[
    "Almaty",
    "Astana",
    "Shymkent",
    "Karaganda",
    "Aktobe",
    "Taraz",
    "Pavlodar",
    "Oskemen",
];

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "ap-southeast-1",
    "me-central-1",
];

/// Parses `$name$` placeholders; everything else is literal.
pub(crate) fn parse(template: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        if i > 0 {
            segs.push(Seg::Lit(rest.as_bytes()[..i].to_vec()));
        }
        let after = &rest[i + 1..];
        let j = after.find('$').expect("placeholder closes");
        segs.push(match &after[..j] {
            "w" => Seg::Word,
            "W" => Seg::Cap,
            "n" => Seg::Num,
            "d10" => Seg::Digits(10),
            "d11" => Seg::Digits(11),
            "d13" => Seg::Digits(13),
            "d16" => Seg::Digits(16),
            "d12" => Seg::Twelve,
            "url" => Seg::Endpoint,
            "url0" => Seg::OtherUrl,
            "hex" => Seg::Hex,
            "ts" => Seg::Time,
            "ms" => Seg::Millis,
            "s" => Seg::Sentence,
            "name" => Seg::Name,
            "city" => Seg::City,
            "amt" => Seg::Amount,
            other => panic!("unknown placeholder ${other}$"),
        });
        rest = &after[j + 1..];
    }
    if !rest.is_empty() {
        segs.push(Seg::Lit(rest.as_bytes().to_vec()));
    }
    segs
}

/// Weighted templates, parsed.
#[derive(Clone, Debug)]
pub(crate) struct Lines {
    cumulative: Vec<u32>,
    lines: Vec<Vec<Seg>>,
}

impl Lines {
    pub(crate) fn new(templates: &[(u32, &str)]) -> Lines {
        let mut total = 0;
        let mut cumulative = Vec::new();
        for (w, _) in templates {
            total += w;
            cumulative.push(total);
        }
        let lines = templates.iter().map(|(_, t)| parse(t)).collect();
        Lines { cumulative, lines }
    }

    /// A random line, by weight.
    pub(crate) fn pick(&self, rng: &mut Rng) -> &[Seg] {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = rng.below(u64::from(total)) as u32;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.lines[i.min(self.lines.len() - 1)]
    }
}

/// Counters kept while writing.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Emitted {
    pub(crate) endpoints: u64,
    pub(crate) magics: u64,
}

/// Writes random digits; the first is non-zero when `nonzero_first`.
fn digits(rng: &mut Rng, out: &mut Vec<u8>, k: usize, nonzero_first: bool) {
    let mut left = k;
    let mut first = nonzero_first;
    while left > 0 {
        let mut x = rng.next_u64();
        for _ in 0..left.min(18) {
            let d = (x % 10) as u8;
            x /= 10;
            out.push(b'0' + if first && d == 0 { 1 } else { d });
            first = false;
            left -= 1;
        }
    }
}

fn number(rng: &mut Rng, out: &mut Vec<u8>) {
    let k = 1 + rng.index(5);
    digits(rng, out, k, true);
}

fn word<'a>(rng: &mut Rng) -> &'a [u8] {
    rng.pick(WORDS).as_bytes()
}

/// Writes an endpoint URL or URI, one of the shapes a scanner must recognise.
pub(crate) fn endpoint(rng: &mut Rng, out: &mut Vec<u8>) {
    let w = |rng: &mut Rng| word(rng);
    let region = rng.pick(REGIONS).as_bytes();
    let (a, b) = (w(rng), w(rng));
    let parts: [&[u8]; 6] = match rng.below(14) {
        0 => [b"https://", a, b"-", b, b".s3.", region],
        1 => [b"https://s3.", region, b".amazonaws.com/", a, b"-", b],
        2 => [b"s3://", a, b"-", b, b"/", w(rng)],
        3 => [b"gs://", a, b"-", b, b"/", w(rng)],
        4 => [b"https://storage.googleapis.com/", a, b"-", b, b"/", w(rng)],
        5 => [
            b"https://",
            a,
            b"acct.blob.core.windows.net/",
            b,
            b"/",
            w(rng),
        ],
        6 => [
            b"abfss://",
            a,
            b"@",
            b,
            b"acct.dfs.core.windows.net/",
            w(rng),
        ],
        7 => [b"https://api.openai.com/v1/", a, b"", b"", b"", b""],
        8 => [b"https://huggingface.co/", a, b"/", b, b"", b""],
        9 => [b"https://api.anthropic.com/v1/", a, b"", b"", b"", b""],
        10 => [b"https://storage.yandexcloud.net/", a, b"-", b, b"", b""],
        11 => [b"https://storage.yandexcloud.kz/", a, b"-", b, b"", b""],
        12 => [
            b"https://",
            a,
            b"-",
            b,
            b".oss-cn-hangzhou.aliyuncs.com/",
            w(rng),
        ],
        _ => [b"https://", a, b".r2.cloudflarestorage.com/", b, b"", b""],
    };
    for p in parts {
        out.extend_from_slice(p);
    }
    if out.ends_with(region) {
        out.extend_from_slice(b".amazonaws.com/");
        out.extend_from_slice(w(rng));
    }
}

fn other_url(rng: &mut Rng, out: &mut Vec<u8>) {
    let host: &[u8] = match rng.below(4) {
        0 => b"https://github.com/",
        1 => b"https://docs.python.org/3/library/",
        2 => b"http://localhost:8080/",
        _ => b"https://example.org/",
    };
    out.extend_from_slice(host);
    out.extend_from_slice(word(rng));
    out.push(b'/');
    out.extend_from_slice(word(rng));
}

fn twelve(rng: &mut Rng, out: &mut Vec<u8>) {
    let r = rng.below(100);
    if r < 4 {
        out.extend_from_slice(ids::valid_iin(rng).as_bytes());
    } else if r < 5 {
        out.extend_from_slice(ids::valid_bin(rng).as_bytes());
    } else {
        digits(rng, out, 12, false);
    }
}

fn hex(rng: &mut Rng, out: &mut Vec<u8>) {
    let x = rng.next_u64();
    for i in (0..16).rev() {
        out.push(b"0123456789abcdef"[((x >> (4 * i)) & 15) as usize]);
    }
}

fn two(out: &mut Vec<u8>, v: u64) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn time(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(b"202");
    out.push(b'0' + rng.below(6) as u8);
    out.push(b'-');
    two(out, 1 + rng.below(12));
    out.push(b'-');
    two(out, 1 + rng.below(28));
    out.push(b'T');
    two(out, rng.below(24));
    out.push(b':');
    two(out, rng.below(60));
    out.push(b':');
    two(out, rng.below(60));
    out.push(b'Z');
}

fn sentence(rng: &mut Rng, out: &mut Vec<u8>) {
    let n = 3 + rng.index(6);
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word(rng));
    }
}

/// Writes one expanded template.
pub(crate) fn expand(segs: &[Seg], rng: &mut Rng, out: &mut Vec<u8>, em: &mut Emitted) {
    for seg in segs {
        match seg {
            Seg::Lit(b) => out.extend_from_slice(b),
            Seg::Word => out.extend_from_slice(word(rng)),
            Seg::Cap => {
                let w = word(rng);
                out.push(w[0].to_ascii_uppercase());
                out.extend_from_slice(&w[1..]);
            }
            Seg::Num => number(rng, out),
            Seg::Digits(k) => digits(rng, out, *k, true),
            Seg::Twelve => twelve(rng, out),
            Seg::Endpoint => {
                em.endpoints += 1;
                endpoint(rng, out);
            }
            Seg::OtherUrl => other_url(rng, out),
            Seg::Hex => hex(rng, out),
            Seg::Time => time(rng, out),
            Seg::Millis => {
                out.extend_from_slice(b"17");
                digits(rng, out, 11, false);
            }
            Seg::Sentence => sentence(rng, out),
            Seg::Name => {
                out.extend_from_slice(rng.pick(shekara_fixtures::text::FIRST_NAMES).as_bytes());
                out.push(b' ');
                out.extend_from_slice(rng.pick(shekara_fixtures::text::SURNAMES).as_bytes());
            }
            Seg::City => out.extend_from_slice(rng.pick(CITIES).as_bytes()),
            Seg::Amount => {
                number(rng, out);
                out.push(b'.');
                two(out, rng.below(100));
            }
        }
    }
}
