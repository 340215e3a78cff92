//! Small pieces every stage uses: the display name of an enum (its serde name, the one spelling
//! in every output), float formatting that round-trips, seeded randomness, calendar dates, and the
//! one atomic file writer.

pub mod atomic;
pub mod cpu;
pub mod dates;
pub mod fuzz;
pub mod limits;
pub mod rng;

/// Drops `v` on a thread of its own: for a large value the caller is done with just before the
/// process exits (the exit may cut the thread short; the memory goes back to the system
/// either way). Dropped in place when no thread can be started.
pub fn drop_aside<T: Send + 'static>(v: T) {
    // A thread that cannot start drops its closure, and `v` with it, here.
    let _ = std::thread::Builder::new().spawn(move || drop(v));
}

/// Serializes a value as its `Display` text (serde `serialize_with`).
pub fn serialize_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The serde name of a unit enum variant (`"primal_infeasible"`, `"pay-as-ask"`, …): the one
/// spelling used in CSV, JSON, terminal text and messages alike.
pub fn serde_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Formats a float as the shortest decimal that reads back to the same `f64` (Rust's `{}` for
/// f64 has this property), so written files round-trip exactly and are byte-stable; `-0` is
/// written as `0`.
pub fn fmt_f64(v: f64) -> String {
    F64Text::new().format(v).to_string()
}

/// A reusable buffer that writes an `f64` exactly as [`fmt_f64`] does, without allocating: the
/// writers of the big per-step tables format tens of millions of numbers.
///
/// The digits are Ryū's (Adams 2018, "Ryū: fast float-to-string conversion", PLDI): the
/// shortest decimal that rounds back to the value, the closest one when several are as short —
/// the same digits as `core::fmt`'s Grisu/Dragon4 `{}`, which is what the property test
/// `util::tests::f64_text_is_std_display` checks on millions of values. They are then laid out
/// the way `{}` does, always positional (`0.000001`, `100000000000000000000`), never in
/// exponent form. Non-finite values are written as `{}` writes them (`NaN`, `inf`, `-inf`).
pub struct F64Text {
    ryu: ryu::Buffer,
    /// Longest positional output: `-0.` + 323 zeros + 17 digits.
    out: [u8; 352],
}

impl Default for F64Text {
    fn default() -> Self {
        F64Text::new()
    }
}

impl F64Text {
    /// An empty buffer.
    pub fn new() -> F64Text {
        F64Text {
            ryu: ryu::Buffer::new(),
            out: [0; 352],
        }
    }

    /// `v` as text (valid until the next call).
    pub fn format(&mut self, v: f64) -> &str {
        if v == 0.0 {
            return "0";
        }
        if let Some(k) = self.short(v) {
            // Only ASCII digits, `-` and `.` were written.
            return std::str::from_utf8(&self.out[..k]).unwrap_or("NaN");
        }
        if !v.is_finite() {
            return if v.is_nan() {
                "NaN"
            } else if v > 0.0 {
                "inf"
            } else {
                "-inf"
            };
        }
        // Ryū writes `ddd.ddd`, `0.000ddd` or `d.ddde±x`: take the significant digits and the
        // position of the decimal point.
        let s = self.ryu.format_finite(v);
        let sb = s.as_bytes();
        let (neg, sb) = match sb.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, sb),
        };
        let (mant, exp) = match sb.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&sb[..i], parse_exp(&sb[i + 1..])),
            None => (sb, 0),
        };
        if exp == 0 {
            // Positional already (`0.00012`, `45.14`, `3.0`): `{}` writes the same digits with
            // no `.0`, unless two shortest decimals tie. The significant digits are the bytes
            // that are neither the point nor a leading or (in `d.0`) trailing zero.
            let text = s.strip_suffix(".0").unwrap_or(s);
            let body = mant.strip_suffix(b".0").unwrap_or(mant);
            let lead = body.iter().take_while(|&&c| c == b'0' || c == b'.').count();
            let rest = &body[lead..];
            // (A fold, not `contains`: a `memchr` call costs more than these few bytes.)
            let point = rest.iter().fold(false, |p, &c| p | (c == b'.'));
            let n = rest.len() - usize::from(point);
            let n = if point {
                n
            } else {
                // An integer: its trailing zeros are not significant.
                n - rest.iter().rev().take_while(|&&c| c == b'0').count()
            };
            if !may_tie(v, n) {
                return text;
            }
            return display(&mut self.out, v);
        }
        let mut digits = [0u8; 24];
        let (mut n, mut point) = (0usize, None);
        for &c in mant {
            if c == b'.' {
                point = Some(n);
            } else if n < digits.len() {
                digits[n] = c;
                n += 1;
            }
        }
        let mut point = point.unwrap_or(n) as i32 + exp;
        // Strip leading zeros (moving the point) and trailing zeros.
        let lead = digits[..n].iter().take_while(|&&c| c == b'0').count();
        let mut d = &digits[lead..n];
        point -= lead as i32;
        while let Some((b'0', rest)) = d.split_last() {
            d = rest;
        }
        if may_tie(v, d.len()) {
            // Two shortest decimals may be equally close: Ryū breaks the tie to even, `{}`
            // otherwise (156181910319945.625: `.62` vs `.63`), so `{}` writes these.
            return display(&mut self.out, v);
        }
        let out = &mut self.out;
        let mut k = 0;
        let mut put = |c: u8| {
            out[k] = c;
            k += 1;
        };
        if neg {
            put(b'-');
        }
        if point <= 0 {
            put(b'0');
            put(b'.');
            for _ in 0..-point {
                put(b'0');
            }
            d.iter().for_each(|&c| put(c));
        } else {
            let p = point as usize;
            if p >= d.len() {
                d.iter().for_each(|&c| put(c));
                for _ in d.len()..p {
                    put(b'0');
                }
            } else {
                d[..p].iter().for_each(|&c| put(c));
                put(b'.');
                d[p..].iter().for_each(|&c| put(c));
            }
        }
        // Only ASCII digits, `-` and `.` were written.
        std::str::from_utf8(&self.out[..k]).unwrap_or("NaN")
    }
}

impl F64Text {
    /// The fast path for what the tables mostly hold — prices, tariffs and energies with at most
    /// nine decimals below 10⁶, and integers below 2⁵³ — written from the scaled integer
    /// without Ryū, into `out`; returns the length, or `None` for every other value.
    ///
    /// Why the text is `{}`'s: below 10⁶ an `f64`'s spacing is at most 2⁻³³ ≈ 1.2·10⁻¹⁰, so
    /// the decimals that read back to `v` lie in an interval narrower than 10⁻⁹ and at most one
    /// of them has nine decimals or fewer. `s = round(|v|·10⁹)` is that one when it exists (the
    /// product is off by at most 0.07 below 10¹⁵), and `s / 10⁹ == |v|` — one correctly
    /// rounded division of two exact doubles, i.e. what reading `s·10⁻⁹` back gives — proves
    /// it reads back. Being the only candidate on the 10⁻⁹ grid it is the shortest one (a
    /// shorter decimal is on that grid too) and no other is as short, so `{}` writes exactly
    /// these digits, trailing zeros dropped. An integer below 2⁵³ is exact and its neighbours
    /// are at least 1 away: its shortest decimal is itself.
    fn short(&mut self, v: f64) -> Option<usize> {
        const SCALE: f64 = 1e9;
        let a = v.abs();
        let (int, frac) = if a < 1e6 {
            // `round(a·10⁹)` without libm's `round` (a call on a target without SSE4.1): the
            // product is below 2⁵⁰, so its integer part is exact and the fraction `x − i` is
            // computed exactly; halves go up, as `f64::round` rounds them away from zero.
            let x = a * SCALE;
            let i = x as i64;
            let s = if x - i as f64 >= 0.5 { i + 1 } else { i };
            if s as f64 / SCALE != a {
                return None;
            }
            let s = s as u64;
            (s / 1_000_000_000, s % 1_000_000_000)
        } else if a < 9_007_199_254_740_992.0 && (a as u64) as f64 == a {
            (a as u64, 0)
        } else {
            return None;
        };
        let mut k = 0;
        if v < 0.0 {
            self.out[0] = b'-';
            k = 1;
        }
        k += write_u64(&mut self.out[k..], int);
        if frac > 0 {
            // All nine decimals, then the trailing zeros dropped.
            self.out[k] = b'.';
            let mut f = frac;
            let mut i = k + 10;
            for _ in 0..4 {
                let r = (f % 100) as usize;
                f /= 100;
                i -= 2;
                self.out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[2 * r..2 * r + 2]);
            }
            self.out[i - 1] = b'0' + f as u8;
            k += 10;
            while self.out[k - 1] == b'0' {
                k -= 1;
            }
        }
        Some(k)
    }
}

/// `v` as `{}` writes it, into `out`: for the values whose shortest decimals may tie.
fn display(out: &mut [u8; 352], v: f64) -> &str {
    let mut rest = &mut out[..];
    let _ = std::io::Write::write_fmt(&mut rest, format_args!("{v}"));
    let k = 352 - rest.len();
    std::str::from_utf8(&out[..k]).unwrap_or("NaN")
}

/// `00`, `01`, …, `99`: two digits per division.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Writes `n` in decimal at the start of `out` (at least 20 bytes long); returns the length.
pub(crate) fn write_u64(out: &mut [u8], mut n: u64) -> usize {
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut i = len;
    while n >= 100 {
        let r = (n % 100) as usize;
        n /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[2 * r..2 * r + 2]);
    }
    if n >= 10 {
        let r = n as usize;
        out[..2].copy_from_slice(&DIGIT_PAIRS[2 * r..2 * r + 2]);
    } else {
        out[0] = b'0' + n as u8;
    }
    len
}

/// Whether two shortest decimals of `v` (whose shortest form has `n` significant digits) can be
/// equally close to it. A tie needs the exact value — `m·2^e` with `m` odd, whose decimal
/// expansion is `m·5^-e` at `e` < 0 and the integer itself otherwise — to have exactly one
/// significant digit more than the shortest form, so at most 18; anything with a longer exact
/// expansion, or an exact one no longer than `n`, has a unique closest shortest form.
fn may_tie(v: f64, n: usize) -> bool {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return false;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i32;
    const TEN18: u128 = 1_000_000_000_000_000_000;
    let exact: u128 = if e < 0 {
        let k = e.unsigned_abs();
        if k > 26 {
            // 5^27 > 10^18 already.
            return false;
        }
        u128::from(m) * POW5[k as usize]
    } else {
        if e > 70 {
            // Beyond 2^70 (10^21): rare enough to leave to `{}` whatever it is.
            return true;
        }
        let mut x = u128::from(m) << e;
        while x % 10 == 0 {
            x /= 10;
        }
        x
    };
    if exact >= TEN18 {
        return false;
    }
    // Below 10¹⁸, so a `u64`.
    let len = (exact as u64)
        .checked_ilog10()
        .map_or(1, |l| l as usize + 1);
    len > n
}

/// `5^k` for `k` ≤ 26.
const POW5: [u128; 27] = {
    let mut p = [1u128; 27];
    let mut k = 1;
    while k < 27 {
        p[k] = p[k - 1] * 5;
        k += 1;
    }
    p
};

/// The exponent after Ryū's `e` (`-7`, `22`).
fn parse_exp(s: &[u8]) -> i32 {
    let (neg, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let e = s
        .iter()
        .fold(0i32, |e, &c| e * 10 + i32::from(c.wrapping_sub(b'0')));
    if neg {
        -e
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write_u64` against `{}` at every digit count's edges.
    #[test]
    fn write_u64_is_std_display() {
        let mut out = [0u8; 20];
        let mut edges = vec![0u64, 1, 9, u64::MAX, u64::MAX - 1];
        let mut p = 1u64;
        while let Some(q) = p.checked_mul(10) {
            edges.extend([q - 1, q, q + 1, q / 2 * 3]);
            p = q;
        }
        for n in edges {
            let k = write_u64(&mut out, n);
            assert_eq!(std::str::from_utf8(&out[..k]).unwrap(), n.to_string());
        }
    }

    /// The std formatter is the independent source: `F64Text` must write every value exactly
    /// as `format!("{v}")` (with `-0` as `0`).
    #[test]
    fn f64_text_is_std_display() {
        let mut t = F64Text::new();
        let mut check = |v: f64| {
            let want = if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v}")
            };
            assert_eq!(t.format(v), want, "bits {:#x}", v.to_bits());
        };
        for v in [
            1.0,
            -1.0,
            0.1,
            0.5,
            1e16,
            1e15,
            1e22,
            1e23,
            123456.789,
            5e-324,
            -5e-324,
            1e-7,
            1.5e-5,
            0.000123,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            0.3,
            2.0f64.powi(60),
            9007199254740993.0,
            0.01679375,
            45.14,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
        ] {
            check(v);
        }
        // Random bit patterns (every exponent) and random "decimal-looking" values (what the
        // tables hold: kWh and dollars with few digits).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..400_000 {
            let v = f64::from_bits(next());
            check(v);
            let m = (next() % 100_000_000) as f64;
            let e = (next() % 24) as i32 - 12;
            check(m * 10f64.powi(e));
            check(m / 10f64.powi(-e));
            // Around the tie threshold: values with a few fraction bits (x.25, x.125, …).
            let big = (next() % (1u64 << 60)) as f64 / 8.0;
            check(big);
            check(big + 0.25);
            check(-(big / 2.0 + 0.125));
        }
        // Few significant bits at every scale: where ties live.
        for _ in 0..200_000 {
            let m = (next() % 4096) as f64;
            let e = (next() % 140) as i32 - 70;
            check(m * 2f64.powi(e));
            check(-(m + 0.5) * 2f64.powi(e));
        }
        // The fast path's edges: around 10⁶ and 2⁵³, nine and ten decimals, and the
        // neighbours of short decimals.
        for v in [
            999_999.999_999_999_f64,
            999_999.5,
            1e6,
            1e6 + 0.5,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            0.000_000_001,
            0.000_000_000_5,
            1.000_000_001,
            0.123_456_789,
            0.123_456_789_1,
            -0.25,
            -123_456.000_001,
        ] {
            for w in [
                v,
                f64::from_bits(v.to_bits() + 1),
                f64::from_bits(v.to_bits() - 1),
            ] {
                check(w);
                check(-w);
            }
        }
        for _ in 0..400_000 {
            let m = (next() % 1_000_000_000_000_000) as f64;
            let d = 10f64.powi((next() % 10) as i32 + 6);
            let v = m / d;
            check(v);
            check(f64::from_bits(v.to_bits() + 1));
            check(f64::from_bits(v.to_bits() - 1));
        }
        for k in 40..70 {
            for j in 0..2000u64 {
                let v = (1u64 << k) as f64 + j as f64 * 0.125;
                check(v);
                check(-v);
            }
        }
    }
}
