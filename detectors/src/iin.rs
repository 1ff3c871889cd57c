//! Validators for Kazakh national identification numbers (IIN and BIN).
//!
//! Both are 12 digits with the same control digit (two-pass mod 11):
//! weights 1..11 over the first 11 digits, sum mod 11; when that is 10,
//! weights 3,4,…,11,1,2; when that is 10 again the number is invalid.
//!
//! * IIN (individuals): `YYMMDD` is a real calendar date, digit 7 (1–6)
//!   gives century and sex (1/2: 1800s, 3/4: 1900s, 5/6: 2000s; odd male).
//! * BIN (legal entities): `YYMM` with a valid month, digit 5 the type
//!   (4 resident, 5 non-resident, 6 joint individual entrepreneurship),
//!   digit 6 (0–3) a further attribute.
//!
//! An IIN's digit 5 is the tens digit of the day (0–3) and a BIN's is 4–6,
//! so no number is valid as both; [`classify`] still returns one answer and
//! says why.

/// What a 12-digit number validates as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdClass {
    /// A valid IIN.
    Iin {
        /// Full birth year (1800–2099).
        year: u16,
        /// Whether digit 7 is odd (male).
        male: bool,
    },
    /// A valid BIN.
    Bin {
        /// Digit 5: 4 resident, 5 non-resident, 6 joint IE.
        entity_type: u8,
    },
}

/// Why a 12-digit number is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not exactly 12 ASCII digits.
    Shape,
    /// The date (IIN) or month (BIN) is not real.
    Date,
    /// IIN digit 7 / BIN digit 5 or 6 out of range.
    TypeDigit,
    /// The control digit does not match (or both passes give 10).
    CheckDigit,
}

const W1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const W2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

fn digits(s: &[u8]) -> Option<[u8; 12]> {
    let arr: [u8; 12] = s.try_into().ok()?;
    if !arr.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(arr.map(|b| b - b'0'))
}

fn weighted(d: &[u8; 12], w: &[u32; 11]) -> u32 {
    d.iter()
        .zip(w)
        .map(|(&x, &w)| u32::from(x) * w)
        .sum::<u32>()
        % 11
}

/// The control digit for the first 11 digits, or `None` when both passes give 10.
pub fn control_digit(d: &[u8; 12]) -> Option<u8> {
    let first = weighted(d, &W1);
    if first != 10 {
        return Some(first as u8);
    }
    let second = weighted(d, &W2);
    (second != 10).then_some(second as u8)
}

fn two(d: &[u8; 12], i: usize) -> u32 {
    u32::from(d[i]) * 10 + u32::from(d[i + 1])
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Validates `s` as an IIN.
///
/// # Errors
/// The first rule the number breaks.
pub fn validate_iin(s: &[u8]) -> Result<IdClass, Invalid> {
    let d = digits(s).ok_or(Invalid::Shape)?;
    let class = iin_before_check(&d)?;
    check(&d)?;
    Ok(class)
}

/// [`validate_iin`] of 12 digits, but for the control digit.
#[inline]
fn iin_before_check(d: &[u8; 12]) -> Result<IdClass, Invalid> {
    let century = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return Err(Invalid::TypeDigit),
    };
    let year = century + two(d, 0);
    let (month, day) = (two(d, 2), two(d, 4));
    if day == 0 || day > days_in_month(year, month) {
        return Err(Invalid::Date);
    }
    Ok(IdClass::Iin {
        year: year as u16,
        male: d[6] % 2 == 1,
    })
}

/// Validates `s` as a BIN.
///
/// # Errors
/// The first rule the number breaks.
pub fn validate_bin(s: &[u8]) -> Result<IdClass, Invalid> {
    let d = digits(s).ok_or(Invalid::Shape)?;
    let class = bin_before_check(&d)?;
    check(&d)?;
    Ok(class)
}

/// [`validate_bin`] of 12 digits, but for the control digit.
#[inline]
fn bin_before_check(d: &[u8; 12]) -> Result<IdClass, Invalid> {
    if !(1..=12).contains(&two(d, 2)) {
        return Err(Invalid::Date);
    }
    if !(4..=6).contains(&d[4]) || d[5] > 3 {
        return Err(Invalid::TypeDigit);
    }
    Ok(IdClass::Bin { entity_type: d[4] })
}

fn check(d: &[u8; 12]) -> Result<(), Invalid> {
    match control_digit(d) {
        Some(c) if c == d[11] => Ok(()),
        _ => Err(Invalid::CheckDigit),
    }
}

/// Classifies a 12-digit number: IIN, BIN or invalid, with a reason for the choice.
///
/// When a number validates as both (impossible under the current rules, see the
/// module docs) the IIN reading wins: it is the more sensitive and the more
/// likely in personal-data sets.
///
/// # Errors
/// The IIN reading's reason when neither reading is valid.
pub fn classify(s: &[u8]) -> Result<(IdClass, &'static str), Invalid> {
    // The digits are read once and the control digit, which both readings
    // share, worked out once, after the date and type digits: most 12-digit
    // runs (timestamps, phone numbers) fail those first.
    let d = digits(s).ok_or(Invalid::Shape)?;
    let (iin, bin) = (iin_before_check(&d), bin_before_check(&d));
    if iin.is_ok() || bin.is_ok() {
        if let Err(e) = check(&d) {
            return Err(iin.err().unwrap_or(e));
        }
    }
    match (iin, bin) {
        (Ok(i), Ok(_)) => Ok((i, "valid as IIN and BIN; reported as IIN")),
        (Ok(i), Err(_)) => Ok((i, "valid IIN")),
        (Err(_), Ok(b)) => Ok((b, "valid BIN")),
        (Err(e), Err(_)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID_IIN: [&str; 5] = [
        "850314319331",
        "921130474626",
        "040229568857",
        "110701677942",
        "880515306144",
    ];
    const VALID_BIN: [&str; 5] = [
        "050340765602",
        "121151312072",
        "190760555694",
        "210142416564",
        "971243264927",
    ];

    #[test]
    fn issue_vectors_valid() {
        for s in VALID_IIN {
            assert!(
                matches!(validate_iin(s.as_bytes()), Ok(IdClass::Iin { .. })),
                "{s}"
            );
            assert!(validate_bin(s.as_bytes()).is_err(), "{s} must not be a BIN");
        }
        for s in VALID_BIN {
            assert!(
                matches!(validate_bin(s.as_bytes()), Ok(IdClass::Bin { .. })),
                "{s}"
            );
            assert!(
                validate_iin(s.as_bytes()).is_err(),
                "{s} must not be an IIN"
            );
        }
    }

    #[test]
    fn second_pass_vector_needs_the_second_pass() {
        let d = digits(b"880515306144").unwrap();
        assert_eq!(weighted(&d, &W1), 10);
        assert_eq!(control_digit(&d), Some(4));
    }

    #[test]
    fn issue_vectors_invalid() {
        let cases = [
            ("850314319332", Invalid::CheckDigit),
            ("921330474626", Invalid::Date),
            ("040229768857", Invalid::TypeDigit),
            ("900230300108", Invalid::Date),
            ("850314000103", Invalid::TypeDigit),
        ];
        for (s, why) in cases {
            assert_eq!(validate_iin(s.as_bytes()), Err(why), "{s}");
            assert!(classify(s.as_bytes()).is_err(), "{s}");
        }
    }

    #[test]
    fn leap_years() {
        // 29 Feb 2004 valid (040229568857); 29 Feb 1900 is not a date.
        assert!(validate_iin(b"040229568857").is_ok());
        let mut d = *b"000229300000";
        // find any control digit for 1900-02-29 and check the date rule fires first
        for c in b'0'..=b'9' {
            d[11] = c;
            assert_eq!(validate_iin(&d), Err(Invalid::Date));
        }
    }

    #[test]
    fn shape() {
        assert_eq!(validate_iin(b"85031431933"), Err(Invalid::Shape));
        assert_eq!(validate_iin(b"85031431933a"), Err(Invalid::Shape));
    }

    fn complete(prefix: [u8; 11]) -> Option<[u8; 12]> {
        let mut d = [0u8; 12];
        d[..11].copy_from_slice(&prefix);
        let c = control_digit(&d)?;
        d[11] = c;
        Some(d.map(|x| x + b'0'))
    }

    fn iin_prefix() -> impl Strategy<Value = [u8; 11]> {
        (
            0u8..100,
            1u8..=12,
            1u8..=28,
            1u8..=6,
            proptest::array::uniform4(0u8..10),
        )
            .prop_map(|(yy, mm, dd, c, tail)| {
                [
                    yy / 10,
                    yy % 10,
                    mm / 10,
                    mm % 10,
                    dd / 10,
                    dd % 10,
                    c,
                    tail[0],
                    tail[1],
                    tail[2],
                    tail[3],
                ]
            })
    }

    proptest! {
        #[test]
        fn generated_iins_validate(p in iin_prefix()) {
            if let Some(s) = complete(p) {
                prop_assert!(validate_iin(&s).is_ok());
                prop_assert!(validate_bin(&s).is_err());
            }
        }

        /// Every single-digit change is caught, except where mod 11 cannot see it:
        /// digit 11 carries weight 11 ≡ 0 in the first pass, and a change that moves
        /// the number from one pass to the other can land on the old control digit.
        #[test]
        fn every_single_digit_change_is_caught(p in iin_prefix(), pos in 0usize..12, delta in 1u8..10) {
            if let Some(orig) = complete(p) {
                let mut s = orig;
                s[pos] = b'0' + (s[pos] - b'0' + delta) % 10;
                let pass_of = |x: &[u8; 12]| weighted(&x.map(|b| b - b'0'), &W1) == 10;
                let blind_spot = (pos == 10 && !pass_of(&orig)) || pass_of(&orig) != pass_of(&s);
                if !blind_spot {
                    prop_assert!(validate_iin(&s).is_err(), "{}", String::from_utf8_lossy(&s));
                }
            }
        }

        #[test]
        fn generated_bins_validate(yy in 0u8..100, mm in 1u8..=12, t in 4u8..=6, a in 0u8..=3, tail in proptest::array::uniform5(0u8..10)) {
            let p = [yy / 10, yy % 10, mm / 10, mm % 10, t, a, tail[0], tail[1], tail[2], tail[3], tail[4]];
            if let Some(s) = complete(p) {
                prop_assert!(validate_bin(&s).is_ok());
                prop_assert!(validate_iin(&s).is_err());
            }
        }

        /// [`classify`] reads the digits and the control digit once; it
        /// answers as the two validators together do, on any input and on
        /// numbers that pass a reading's date and type digits.
        #[test]
        fn classify_agrees_with_both_validators(
            s in prop_oneof!["[0-9]{12}", "[0-9]{11,13}", "[0-9a]{12}"],
            p in iin_prefix(),
            yy in 0u8..100, mm in 1u8..=12, t in 4u8..=6, a in 0u8..=3,
            tail in proptest::array::uniform6(0u8..10),
        ) {
            let mut bin = [yy / 10, yy % 10, mm / 10, mm % 10, t, a, tail[0], tail[1], tail[2], tail[3], tail[4], tail[5]];
            bin.iter_mut().for_each(|d| *d += b'0');
            let mut iin = [b'0'; 12];
            iin[..11].iter_mut().zip(p).for_each(|(b, d)| *b += d);
            iin[11] = bin[11];
            for x in [s.as_bytes(), &bin[..], &iin[..]] {
                let want = match (validate_iin(x), validate_bin(x)) {
                    (Ok(i), Ok(_)) => Ok((i, "valid as IIN and BIN; reported as IIN")),
                    (Ok(i), Err(_)) => Ok((i, "valid IIN")),
                    (Err(_), Ok(b)) => Ok((b, "valid BIN")),
                    (Err(e), Err(_)) => Err(e),
                };
                prop_assert_eq!(classify(x), want, "{}", String::from_utf8_lossy(x));
            }
        }

        #[test]
        fn no_number_is_both(s in "[0-9]{12}") {
            prop_assert!(!(validate_iin(s.as_bytes()).is_ok() && validate_bin(s.as_bytes()).is_ok()));
        }
    }
}
