//! Calendar dates in the proleptic Gregorian calendar, as day numbers since 1970-01-01 (Howard
//! Hinnant's `days_from_civil` algorithm). Parsing checks the calendar: 2016-02-30 is refused,
//! not rolled over into March.

/// Days since 1970-01-01 of a valid civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

/// The civil date `(y, m, d)` of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whether `y` is a leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y`.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses `YYYY-MM-DD` (years 1000–9999) into a day number; `None` unless it is a real date.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if y < 1000 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DD` of a day number.
pub fn format(z: i64) -> String {
    let (y, m, d) = civil_from_days(z);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Weekday (0 = Monday) of a day number.
pub fn weekday(z: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (z + 3).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_refuses_impossible_dates() {
        for z in -800_000..800_000 {
            if z % 997 != 0 {
                continue;
            }
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(
            parse("2016-02-29").map(format).as_deref(),
            Some("2016-02-29")
        );
        assert_eq!(parse("2016-02-30"), None);
        assert_eq!(parse("2015-02-29"), None);
        assert!(parse("2000-02-29").is_some());
        assert_eq!(parse("1900-02-29"), None);
        assert_eq!(parse("2016-13-01"), None);
        assert_eq!(parse("2016-6-15"), None);
        assert_eq!(parse("２016-06-15"), None);
        // 2016-06-15 was a Wednesday.
        assert_eq!(parse("2016-06-15").map(weekday), Some(2));
    }
}
