//! The HTML report (`--format html`): one self-contained page for auditors.
//!
//! No scripts, no external assets, inline CSS with print rules (A4, repeated
//! table headers, no page breaks inside a verdict). Values are masked as in
//! every other format; raw values appear only with `--reveal`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use shekara_scanner::model::Finding;
use shekara_scanner::verdict::Residency;
use shekara_scanner::Report;

/// Findings listed in the page; beyond, a note points at the JSON report.
const MAX_ROWS: usize = 20_000;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root{--ink:#1b1f24;--mute:#5b6470;--line:#d8dde3;--bg:#f6f8fa;--red:#b42318;--amber:#b54708;--green:#067647;--blue:#175cd3}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--ink)}
h3{font-size:15px;margin:18px 0 6px}
.sub{color:var(--mute);margin:0 0 16px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;font-size:13px}
dl.meta dt{color:var(--mute)}dl.meta dd{margin:0;word-break:break-all}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.verdict{border:1px solid var(--line);border-left:10px solid var(--mute);border-radius:6px;padding:12px 16px;margin:10px 0;break-inside:avoid;page-break-inside:avoid;background:var(--bg)}
.verdict .name{font-size:20px;font-weight:700;letter-spacing:.04em;text-transform:uppercase}
.verdict .what{font-weight:600;margin-left:10px}
.verdict ul{margin:6px 0 0 18px;padding:0}
.v-violation{border-left-color:var(--red)}.v-violation .name{color:var(--red)}
.v-incomplete{border-left-color:var(--amber)}.v-incomplete .name{color:var(--amber)}
.v-egress_only{border-left-color:var(--amber)}.v-egress_only .name{color:var(--amber)}
.v-in_country{border-left-color:var(--blue)}.v-in_country .name{color:var(--blue)}
.v-clean{border-left-color:var(--green)}.v-clean .name{color:var(--green)}
.deadline{color:var(--red);font-weight:600}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
thead{display:table-header-group}tr{break-inside:avoid;page-break-inside:avoid}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600;color:#fff;background:var(--mute)}
.sev-critical{background:#7a0916}.sev-high{background:var(--red)}.sev-medium{background:var(--amber)}.sev-low{background:var(--blue)}.sev-info{background:#8a94a0}
.sup{color:var(--mute);text-decoration:line-through}
.tag{font-size:11px;color:var(--mute);border:1px solid var(--line);border-radius:3px;padding:0 4px;margin-left:4px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
footer{margin-top:32px;color:var(--mute);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@page{size:A4;margin:14mm 12mm}
@media print{main{max-width:none;padding:0}body{font-size:11px}h2{break-after:avoid;page-break-after:avoid}.verdict{background:none}a{color:inherit;text-decoration:none}}
"#;

/// Writes the page.
pub fn write(
    report: &Report,
    evidence_digest: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(page(report, evidence_digest).as_bytes())
}

/// The whole page.
pub fn page(report: &Report, evidence_digest: Option<&str>) -> String {
    let mut h = String::with_capacity(64 * 1024 + report.findings.len().min(MAX_ROWS) * 300);
    let worst = report.verdicts.iter().map(|v| v.verdict).min();
    let title = match worst {
        Some(v) => format!("shekara residency report: {}", v.as_str()),
        None => "shekara residency report".into(),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    header(&mut h, report, evidence_digest);
    verdicts(&mut h, report);
    deadlines(&mut h, report);
    summary(&mut h, report);
    coverage(&mut h, report);
    findings(&mut h, report);
    let _ = write!(
        h,
        "<footer>Generated by shekara {} · ruleset <code>{}</code> · values are masked and fingerprinted with a keyed BLAKE3 hash (key id <code>{}</code>).</footer>\n</main>\n</body>\n</html>\n",
        esc(&report.tool.version),
        esc(&report.tool.ruleset),
        esc(&report.scan.fingerprint_key)
    );
    h
}

fn header(h: &mut String, r: &Report, digest: Option<&str>) {
    let _ = write!(
        h,
        "<h1>Residency evidence report</h1>\n<p class=\"sub\">Personal data of Kazakh citizens (Law No. 94-V, Art. 12(2) storage in Kazakhstan; Art. 16 cross-border transfer)</p>\n<dl class=\"meta\">"
    );
    let roots = r
        .scan
        .roots
        .iter()
        .map(|x| format!("<code>{}</code>", esc(x)))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = [
        ("Scanned", roots),
        ("Started", esc(&r.scan.started)),
        ("Finished", esc(&r.scan.finished)),
        (
            "Tool",
            format!(
                "{} {} · ruleset <code>{}</code>",
                esc(&r.tool.name),
                esc(&r.tool.version),
                esc(&r.tool.ruleset)
            ),
        ),
        (
            "Evidence digest",
            match digest {
                Some(d) => format!("<code>{}</code>", esc(d)),
                None => "— (no evidence manifest written: use <code>--evidence FILE</code>)".into(),
            },
        ),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<dt>{k}</dt><dd>{v}</dd>");
    }
    h.push_str("</dl>\n");
}

fn verdicts(h: &mut String, r: &Report) {
    h.push_str("<h2>Verdicts</h2>\n");
    if r.verdicts.is_empty() {
        h.push_str("<p>No verdicts.</p>\n");
    }
    for v in &r.verdicts {
        let what = match v.verdict {
            Residency::Violation => "personal data would leave Kazakhstan",
            Residency::Incomplete => "not everything could be scanned: no all-clear",
            Residency::EgressOnly => "foreign egress without personal data",
            Residency::InCountry => "personal data stays in Kazakhstan",
            Residency::Clean => "no personal data, no foreign egress",
        };
        let _ = write!(
            h,
            "<section class=\"verdict v-{0}\" data-verdict=\"{0}\"><div><span class=\"name\">{1}</span><span class=\"what\">{2}</span></div>\
             <div class=\"mono\">{3}</div><ul>",
            v.verdict.as_str(),
            v.verdict.as_str().replace('_', " "),
            what,
            esc(&v.label)
        );
        for reason in &v.reasons {
            let _ = write!(h, "<li>{}</li>", esc(&reason.message));
        }
        if let Some(b) = &v.breach {
            let _ =
                write!(
                h,
                "<li class=\"deadline\">Breach notification ({} data, window {}{}) due by {}</li>",
                esc(&b.class),
                esc(&b.window),
                if b.business_days { ", business days" } else { "" },
                esc(&b.deadline)
            );
        }
        h.push_str("</ul></section>\n");
    }
}

fn deadlines(h: &mut String, r: &Report) {
    let mut rows = Vec::new();
    for v in &r.verdicts {
        if let Some(b) = &v.breach {
            rows.push((
                v.label.clone(),
                b.class.clone(),
                b.window.clone(),
                b.deadline.clone(),
            ));
        }
    }
    // Findings that carry their own breach window (biometric detectors).
    for f in &r.findings {
        let a = &f.attributes;
        let deadline = a.get("breach_deadline").or_else(|| a.get("deadline"));
        let window = a.get("breach_window").or_else(|| a.get("breach"));
        if deadline.is_some() || window.is_some() {
            rows.push((
                location(f),
                f.kind.as_str().to_string(),
                window.unwrap_or_default().to_string(),
                deadline.unwrap_or_default().to_string(),
            ));
        }
    }
    if rows.is_empty() {
        return;
    }
    h.push_str("<h2>Breach-notification deadlines</h2>\n<table><thead><tr><th>Artefact</th><th>Data</th><th>Window</th><th>Notify by (UTC)</th></tr></thead><tbody>");
    for (a, c, w, d) in rows.iter().take(MAX_ROWS) {
        let _ = write!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"deadline\">{}</td></tr>",
            esc(a),
            esc(c),
            esc(w),
            esc(d)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn summary(h: &mut String, r: &Report) {
    let s = &r.summary;
    let _ = write!(
        h,
        "<h2>Summary</h2>\n<p>{} findings ({} occurrences) in {} files; {} files, {} bytes scanned; {} suppressed.</p>\n<div class=\"grid\">",
        s.findings,
        s.occurrences,
        s.files_with_findings,
        r.coverage.files_scanned,
        r.coverage.bytes_scanned,
        r.suppressions.len()
    );
    for (title, map) in [("By kind", &s.by_kind), ("By severity", &s.by_severity)] {
        let _ = write!(
            h,
            "<table><thead><tr><th>{title}</th><th class=\"n\">Findings</th></tr></thead><tbody>"
        );
        if map.is_empty() {
            h.push_str("<tr><td colspan=\"2\">none</td></tr>");
        }
        for (k, n) in map {
            let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(k));
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</div>\n");
}

fn coverage(h: &mut String, r: &Report) {
    let c = &r.coverage;
    let _ = write!(
        h,
        "<h2>Coverage</h2>\n<p>Coverage is <strong>{}</strong>: {} files scanned completely; {} paths not scanned or not completely.</p>\n",
        if c.complete { "complete" } else { "INCOMPLETE" },
        c.files_scanned,
        c.not_scanned.len()
    );
    if c.not_scanned.is_empty() {
        return;
    }
    h.push_str("<table><thead><tr><th>Path</th><th>Reason</th><th>Detail</th></tr></thead><tbody>");
    for n in c.not_scanned.iter().take(MAX_ROWS) {
        let reason = serde_json::to_value(n.reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let mut p = n.path.clone();
        for m in &n.inner {
            p.push_str(" ▸ ");
            p.push_str(m);
        }
        let _ = write!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p),
            esc(&reason),
            esc(&n.detail)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn location(f: &Finding) -> String {
    let mut p = f.location.path.to_string();
    for m in f.location.inner() {
        p.push_str(" ▸ ");
        p.push_str(m);
    }
    p
}

fn findings(h: &mut String, r: &Report) {
    h.push_str("<h2>Findings by artefact</h2>\n");
    if r.findings.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    let suppressed: BTreeMap<usize, &str> = r
        .suppressions
        .iter()
        .map(|s| (s.finding, s.by.as_str()))
        .collect();
    let mut current: Option<(usize, &str, &[String])> = None;
    let mut open = false;
    for (i, f) in r.findings.iter().enumerate().take(MAX_ROWS) {
        let here = (f.location.root, &*f.location.path, f.location.inner());
        if current != Some(here) {
            if open {
                h.push_str("</tbody></table>\n");
            }
            let root = r.scan.roots.get(f.location.root).map_or("", String::as_str);
            let _ = write!(
                h,
                "<h3><span class=\"mono\">{}</span> <span class=\"tag\">{}</span></h3>\n<table><thead><tr><th>Line</th><th>Severity</th><th>Kind</th><th>Value (masked)</th><th>Details</th><th>Rule</th></tr></thead><tbody>",
                esc(&location(f)),
                esc(root)
            );
            current = Some(here);
            open = true;
        }
        let pos = match (f.location.line, f.location.column) {
            (Some(l), Some(c)) => format!("{l}:{c}"),
            _ => format!("@{}", f.location.byte_offset),
        };
        let shown = f.evidence.raw.as_deref().unwrap_or(&f.evidence.masked);
        let a = &f.attributes;
        let details = match (a.get("provider"), a.get("country")) {
            (Some(p), Some(c)) => format!(
                "{} {} → {}",
                p,
                a.get("region").filter(|r| *r != "unknown").unwrap_or(""),
                c
            ),
            _ => a
                .iter()
                .filter(|(k, _)| {
                    matches!(*k, "format" | "dim" | "rows" | "context" | "entity_type")
                })
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let sup = suppressed.get(&i);
        let _ = write!(
            h,
            "<tr{cls}><td class=\"n\">{pos}</td><td><span class=\"sev sev-{sev}\">{sev}</span></td><td>{kind}</td><td class=\"mono\">{val}{tag}</td><td>{det}</td><td class=\"mono\">{rule}</td></tr>",
            cls = if sup.is_some() { " class=\"sup\"" } else { "" },
            pos = esc(&pos),
            sev = f.severity.as_str(),
            kind = f.kind.as_str(),
            val = esc(shown),
            tag = sup
                .map(|b| format!("<span class=\"tag\">suppressed: {b}</span>"))
                .unwrap_or_default(),
            det = esc(&details),
            rule = esc(&f.rule)
        );
    }
    if open {
        h.push_str("</tbody></table>\n");
    }
    if r.findings.len() > MAX_ROWS {
        let _ = writeln!(
            h,
            "<p>{} more findings are not listed here: see the JSON report.</p>",
            r.findings.len() - MAX_ROWS
        );
    }
}
