//! The breach-notification clock: which findings start which legal clock,
//! and when it runs out.
//!
//! Windows and their legal basis are data (`signatures/data/legal.toml`):
//! biometric data 3 hours (`PT3H`), other personal data one business day
//! (`P1D`, business days). A biometric finding's clock starts when the
//! scanner detects it (the end of its file's scan; for folder findings, the
//! end of the walk's aggregation): if the artefact has already left the
//! country, that is when the responder learns of it. The summary gives the
//! earliest biometric deadline; for IINs it gives the window and basis. Business days skip
//! Saturdays and Sundays; public holidays are not modelled (a deadline may
//! therefore be earlier than the law's, never later).

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Weekday};

use crate::model::{BreachNotification, BreachSummary, Finding};
use crate::policy::Policy;
use shekara_detectors::{Kind, Ruleset};

/// The data class whose clock a finding of `kind` starts, if any.
pub fn class_of(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::BiometricTemplate
        | Kind::FaceEmbedding
        | Kind::FaceImageStore
        | Kind::BiometricModel
        | Kind::BiometricCode => Some("biometric"),
        Kind::Iin => Some("personal"),
        _ => None,
    }
}

/// Parses the ISO 8601 durations the data uses: `PT<n>H`, `PT<n>M`, `P<n>D`.
pub fn parse_window(w: &str) -> Option<(i64, char)> {
    let (num, unit) = if let Some(t) = w.strip_prefix("PT") {
        (t.get(..t.len().checked_sub(1)?)?, t.chars().last()?)
    } else {
        let d = w.strip_prefix('P')?;
        (d.get(..d.len().checked_sub(1)?)?, d.chars().last()?)
    };
    let n: i64 = num.parse().ok()?;
    matches!(unit, 'H' | 'M' | 'D').then_some((n, unit))
}

/// `from` plus `n` business days (Monday to Friday), at the same time of day.
pub fn add_business_days(from: OffsetDateTime, n: i64) -> OffsetDateTime {
    let mut t = from;
    let mut left = n;
    while left > 0 {
        t += Duration::days(1);
        if !matches!(t.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    t
}

/// A window that replaces the rule data's (a policy's `[breach]`): the
/// ISO 8601 duration, and whether it counts business days.
pub type Window<'a> = (&'a str, bool);

/// The window a policy sets for `class`, if there is a policy.
pub fn policy_window(policy: Option<&Policy>, class: &str) -> Option<(String, bool)> {
    let (window, _, business_days) = policy?.breach_window(class == "biometric");
    Some((window, business_days))
}

/// The notification for `class`, detected at `detected`.
pub fn notification(class: &str, detected: OffsetDateTime) -> Option<BreachNotification> {
    notification_in(class, detected, None)
}

/// [`notification`] with the window `window` when given (the legal basis
/// stays the rule data's).
pub fn notification_in(
    class: &str,
    detected: OffsetDateTime,
    window: Option<Window<'_>>,
) -> Option<BreachNotification> {
    let rules = Ruleset::builtin();
    let w = rules.breach_window(class)?;
    let (window, business_days) = window.unwrap_or((&w.window, w.business_days));
    let (n, unit) = parse_window(window)?;
    // Whole seconds: a deadline is read by people.
    let detected = detected.replace_nanosecond(0).unwrap_or(detected);
    let deadline = match (unit, business_days) {
        ('D', true) => add_business_days(detected, n),
        ('D', false) => detected + Duration::days(n),
        ('H', _) => detected + Duration::hours(n),
        _ => detected + Duration::minutes(n),
    };
    Some(BreachNotification {
        class: class.to_string(),
        window: window.to_string(),
        business_days,
        basis: w.basis.clone(),
        basis_title: rules
            .reference(&w.basis)
            .map_or_else(String::new, |r| r.title.clone()),
        detected: detected.format(&Rfc3339).unwrap_or_default(),
        deadline: deadline.format(&Rfc3339).unwrap_or_default(),
    })
}

/// Gives every biometric finding its notification, the clock starting at
/// `detected` (when the scanner found it: the end of its file's scan), in
/// the policy's window when there is a policy (as its verdicts count).
pub fn stamp(findings: &mut [Finding], detected: OffsetDateTime, policy: Option<&Policy>) {
    let mut n = None;
    for f in findings {
        if class_of(f.kind) == Some("biometric") {
            let note = n.get_or_insert_with(|| {
                let w = policy_window(policy, "biometric");
                let w = w.as_ref().map(|(s, b)| (s.as_str(), *b));
                notification_in("biometric", detected, w).map(Box::new)
            });
            f.breach_notification = note.clone();
        }
    }
}

/// One summary entry per class with findings, biometric first. The
/// biometric entry gives the earliest detection and deadline of its
/// findings; the personal-data entry (IINs) gives the window and basis only,
/// IIN findings carrying no clock of their own. `window`: the window
/// for personal data when not the rule data's (a policy's).
pub fn summarize<'a>(
    findings: impl IntoIterator<Item = &'a Finding> + Copy,
    window: Option<Window<'_>>,
) -> Vec<BreachSummary> {
    let mut out = Vec::new();
    let bio: Vec<&BreachNotification> = findings
        .into_iter()
        .filter_map(|f| f.breach_notification.as_deref())
        .collect();
    if let Some(first) = bio.iter().min_by(|a, b| a.deadline.cmp(&b.deadline)) {
        out.push(BreachSummary {
            class: first.class.clone(),
            window: first.window.clone(),
            business_days: first.business_days,
            basis: first.basis.clone(),
            basis_title: first.basis_title.clone(),
            findings: bio.len() as u64,
            detected: Some(first.detected.clone()),
            deadline: Some(first.deadline.clone()),
        });
    }
    let personal = findings
        .into_iter()
        .filter(|f| class_of(f.kind) == Some("personal"))
        .count() as u64;
    let rules = Ruleset::builtin();
    if let (true, Some(w)) = (personal > 0, rules.breach_window("personal")) {
        let (window, business_days) = window.unwrap_or((&w.window, w.business_days));
        out.push(BreachSummary {
            class: "personal".into(),
            window: window.to_string(),
            business_days,
            basis: w.basis.clone(),
            basis_title: rules
                .reference(&w.basis)
                .map_or_else(String::new, |r| r.title.clone()),
            findings: personal,
            detected: None,
            deadline: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("PT3H"), Some((3, 'H')));
        assert_eq!(parse_window("P1D"), Some((1, 'D')));
        assert_eq!(parse_window("3 hours"), None);
    }

    #[test]
    fn biometric_deadline_is_three_hours_after_detection() {
        let n = notification("biometric", datetime!(2026-11-23 16:00 UTC)).unwrap();
        assert_eq!(n.window, "PT3H");
        assert_eq!(n.deadline, "2026-11-23T19:00:00Z");
        assert_eq!(n.basis, "kz.digital-code.art24.biometric");
    }

    #[test]
    fn a_policy_window_replaces_the_rule_datas() {
        let policy = Policy::parse(
            "[breach]\nbiometric = \"PT1H\"\npersonal = \"P2D\"\n",
            "test",
        )
        .unwrap();
        let detected = datetime!(2026-11-27 10:30 UTC);
        let mut findings = vec![
            Finding::sample(Kind::FaceEmbedding, "a.npy"),
            Finding::sample(Kind::Iin, "b.csv"),
        ];
        stamp(&mut findings, detected, Some(&policy));
        let n = findings[0].breach_notification.as_deref().unwrap();
        assert_eq!((n.window.as_str(), n.business_days), ("PT1H", false));
        assert_eq!(n.deadline, "2026-11-27T11:30:00Z");
        assert_eq!(n.basis, "kz.digital-code.art24.biometric");
        assert!(findings[1].breach_notification.is_none());
        let w = policy_window(Some(&policy), "personal");
        let w = w.as_ref().map(|(s, b)| (s.as_str(), *b));
        let summary = summarize(&findings, w);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].deadline.as_deref(), Some("2026-11-27T11:30:00Z"));
        assert_eq!(summary[1].window, "P2D");
        // Without a policy: the rule data's windows.
        stamp(&mut findings, detected, None);
        let n = findings[0].breach_notification.as_deref().unwrap();
        assert_eq!(n.window, "PT3H");
        assert_eq!(summarize(&findings, None)[1].window, "P1D");
    }

    #[test]
    fn personal_deadline_skips_the_weekend() {
        // Friday 2026-11-27 → Monday 2026-11-30.
        let n = notification("personal", datetime!(2026-11-27 10:30 UTC)).unwrap();
        assert_eq!(n.deadline, "2026-11-30T10:30:00Z");
        assert!(n.business_days);
    }
}
