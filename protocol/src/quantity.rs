//! The Kubernetes `resource.Quantity`: parse, compare, add, subtract and format resource
//! amounts ("500m", "1Gi", "7970838142n", "1e3") exactly like `k8s.io/apimachinery` does.
//!
//! A [`Quantity`] stores its value as an exact `i128` count of nano-units (10⁻⁹) together
//! with the [`Format`] it was written in, which only drives the canonical spelling produced by
//! [`Display`](std::fmt::Display) (and by serde). Equality, ordering and hashing look at the
//! numeric value only: `"1Gi" == "1024Mi"` and `"1" == "1000m"`.
//!
//! Rounding: like Kubernetes, a value finer than one nano-unit is rounded *away from zero* to
//! the next nano-unit when parsed (`"0.1n"` → `"1n"`, `"-0.1n"` → `"-1n"`), and
//! [`Quantity::as_value`] / [`Quantity::as_milli`] round away from zero as well (Kubernetes'
//! `Value()` / `MilliValue()`). Values whose magnitude does not fit in an `i128` count of
//! nano-units (about 1.7 × 10²⁹ units) are rejected with [`QuantityError::OutOfRange`] instead
//! of being clamped as Kubernetes does at 2⁶³ − 1.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nano-units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// `NANOS_PER_UNIT` as a `u128`, for magnitudes.
const NANOS_PER_UNIT_U: u128 = 1_000_000_000;
/// Fraction digits (below one nano-unit) that are kept exactly when a binary suffix multiplies
/// the number; the digits after them only matter through whether any of them is non-zero.
/// It must be at least the largest binary exponent (60) for that to hold.
const BINARY_FRACTION_DIGITS: usize = 60;

/// The binary suffixes, indexed by their power of 1024.
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// How a quantity was written, which decides its canonical spelling (Kubernetes `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// A decimal exponent: `12e6`, `5e-3`.
    DecimalExponent,
    /// A power-of-two suffix: `12Mi` (12 × 2²⁰).
    BinarySI,
    /// A power-of-ten SI suffix (or none): `12M` (12 × 10⁶), `500m`, `110`.
    #[default]
    DecimalSI,
}

/// Why a string is not a valid quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is empty.
    #[error("empty quantity")]
    Empty,
    /// The number part is malformed: no digits, a stray sign, space or dot, etc.
    #[error("malformed quantity {input:?}: expected [+-]<digits>[.<digits>][<suffix>]")]
    Malformed {
        /// The rejected input.
        input: String,
    },
    /// The suffix is not one of `n u m k M G T P E Ki Mi Gi Ti Pi Ei` or `e<exponent>`.
    #[error("quantity {input:?} has an unknown suffix {suffix:?}")]
    InvalidSuffix {
        /// The rejected input.
        input: String,
        /// The offending suffix.
        suffix: String,
    },
    /// The value does not fit in an `i128` count of nano-units.
    #[error("quantity {input:?} is out of range")]
    OutOfRange {
        /// The rejected input.
        input: String,
    },
}

/// A Kubernetes resource quantity: an exact amount in nano-units plus its [`Format`].
///
/// Compares, hashes and orders by value; formats canonically like Kubernetes'
/// `Quantity.String()`. Serialises as that string and deserialises from a string or a number.
#[derive(Clone, Copy)]
pub struct Quantity {
    /// The value in nano-units (10⁻⁹).
    nanos: i128,
    /// How the value was written; only used for formatting.
    format: Format,
}

/// What a suffix multiplies the number by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Multiplier {
    /// × 10^n.
    Pow10(i32),
    /// × 2^n, n in 10..=60.
    Pow2(u32),
}

impl Quantity {
    /// The zero quantity (`"0"`, [`Format::DecimalSI`]).
    #[must_use]
    pub const fn zero() -> Self {
        Self {
            nanos: 0,
            format: Format::DecimalSI,
        }
    }

    /// `milli` thousandths of a unit, [`Format::DecimalSI`] (`from_milli(500)` is `"500m"`).
    #[must_use]
    pub fn from_milli(milli: i64) -> Self {
        Self {
            nanos: i128::from(milli) * NANOS_PER_MILLI,
            format: Format::DecimalSI,
        }
    }

    /// `bytes` units, [`Format::BinarySI`] (`from_bytes_binary(1 << 30)` is `"1Gi"`).
    #[must_use]
    pub fn from_bytes_binary(bytes: u64) -> Self {
        Self {
            nanos: i128::from(bytes) * NANOS_PER_UNIT,
            format: Format::BinarySI,
        }
    }

    /// `value` units, [`Format::DecimalSI`] (`from_int(110)` is `"110"`).
    #[must_use]
    pub fn from_int(value: i64) -> Self {
        Self {
            nanos: i128::from(value) * NANOS_PER_UNIT,
            format: Format::DecimalSI,
        }
    }

    /// `nanos` nano-units (10⁻⁹) written in `format`.
    #[must_use]
    pub const fn from_nanos(nanos: i128, format: Format) -> Self {
        Self { nanos, format }
    }

    /// Parses the Kubernetes quantity grammar: `[+-]<digits>[.<digits>]<suffix>` (either side
    /// of the dot may be empty, not both), where the suffix is a binary one (`Ki` … `Ei`), a
    /// decimal SI one (`n u m "" k M G T P E`) or a decimal exponent (`e3`, `E-3`, `e+3`).
    ///
    /// # Errors
    /// [`QuantityError`] when the string does not follow that grammar or the value is out of
    /// range. Amounts below one nano-unit are rounded away from zero, not rejected.
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        if input.is_empty() {
            return Err(QuantityError::Empty);
        }
        let bytes = input.as_bytes();
        let (negative, mut pos) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let int_start = pos;
        pos = skip_digits(bytes, pos);
        // Slicing is safe: every byte skipped so far is ASCII, so `pos` is a char boundary.
        let int_digits = &input[int_start..pos];
        let mut frac_digits = "";
        if bytes.get(pos) == Some(&b'.') {
            let frac_start = pos + 1;
            pos = skip_digits(bytes, frac_start);
            frac_digits = &input[frac_start..pos];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(QuantityError::Malformed {
                input: input.to_owned(),
            });
        }
        let suffix = &input[pos..];
        let (format, multiplier) = parse_suffix(suffix).ok_or_else(|| {
            if suffix.starts_with(|c: char| c.is_ascii_alphabetic()) {
                QuantityError::InvalidSuffix {
                    input: input.to_owned(),
                    suffix: suffix.to_owned(),
                }
            } else {
                QuantityError::Malformed {
                    input: input.to_owned(),
                }
            }
        })?;
        let out_of_range = || QuantityError::OutOfRange {
            input: input.to_owned(),
        };
        let magnitude =
            magnitude_nanos(int_digits, frac_digits, multiplier).ok_or_else(out_of_range)?;
        let nanos = if negative {
            0i128.checked_sub_unsigned(magnitude)
        } else {
            i128::try_from(magnitude).ok()
        }
        .ok_or_else(out_of_range)?;
        Ok(Self { nanos, format })
    }

    /// The exact value in nano-units (10⁻⁹).
    #[must_use]
    pub const fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// The value in thousandths, rounded away from zero (Kubernetes `MilliValue()`):
    /// `"1n"` → 1, `"-1n"` → -1.
    #[must_use]
    pub const fn as_milli(&self) -> i128 {
        div_away_from_zero(self.nanos, NANOS_PER_MILLI)
    }

    /// The value in units, rounded away from zero (Kubernetes `Value()`):
    /// `"500m"` → 1, `"-500m"` → -1.
    #[must_use]
    pub const fn as_value(&self) -> i128 {
        div_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    /// The format the quantity was written in.
    #[must_use]
    pub const fn format(&self) -> Format {
        self.format
    }

    /// The same value, formatted as `format`.
    #[must_use]
    pub const fn with_format(self, format: Format) -> Self {
        Self {
            nanos: self.nanos,
            format,
        }
    }

    /// Whether the value is zero.
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Whether the value is below zero.
    #[must_use]
    pub const fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// `self + rhs`, or `None` on overflow. The result keeps `self`'s format, or `rhs`'s when
    /// `self` is zero (as Kubernetes' `Add` does).
    #[must_use]
    pub fn checked_add(self, rhs: Self) -> Option<Self> {
        let nanos = self.nanos.checked_add(rhs.nanos)?;
        Some(Self {
            nanos,
            format: self.result_format(rhs),
        })
    }

    /// `self - rhs`, or `None` on overflow. The result keeps `self`'s format, or `rhs`'s when
    /// `self` is zero (as Kubernetes' `Sub` does).
    #[must_use]
    pub fn checked_sub(self, rhs: Self) -> Option<Self> {
        let nanos = self.nanos.checked_sub(rhs.nanos)?;
        Some(Self {
            nanos,
            format: self.result_format(rhs),
        })
    }

    /// `self + rhs`, saturating at the numeric bounds; formats as [`Quantity::checked_add`].
    #[must_use]
    pub fn saturating_add(self, rhs: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(rhs.nanos),
            format: self.result_format(rhs),
        }
    }

    /// `self - rhs`, saturating at the numeric bounds; formats as [`Quantity::checked_sub`].
    #[must_use]
    pub fn saturating_sub(self, rhs: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_sub(rhs.nanos),
            format: self.result_format(rhs),
        }
    }

    /// The format of `self op rhs`: `self`'s, or `rhs`'s when `self` is zero.
    const fn result_format(&self, rhs: Self) -> Format {
        if self.nanos == 0 {
            rhs.format
        } else {
            self.format
        }
    }

    /// Writes the canonical decimal spelling (`DecimalSI` or `DecimalExponent`) of `magnitude`
    /// (non-zero nano-units).
    fn fmt_decimal(
        magnitude: u128,
        exponent_form: bool,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        // magnitude = mantissa × 10^exponent with no trailing zero in the mantissa…
        let mut mantissa = magnitude;
        let mut exponent: i32 = -9;
        while mantissa.is_multiple_of(10) && mantissa != 0 {
            mantissa /= 10;
            exponent += 1;
        }
        // …then the exponent goes down to a multiple of three. `exponent + 9` zeros were
        // stripped and at most that many come back, so the mantissa stays <= magnitude.
        let down = exponent.rem_euclid(3);
        mantissa *= pow10(down.unsigned_abs());
        exponent -= down;
        if exponent_form {
            return if exponent == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exponent}")
            };
        }
        if exponent > 18 {
            // Beyond `E`: keep the largest suffix (again the mantissa stays <= magnitude).
            mantissa *= pow10((exponent - 18).unsigned_abs());
            exponent = 18;
        }
        let suffix = match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        write!(f, "{mantissa}{suffix}")
    }
}

impl Default for Quantity {
    /// Zero.
    fn default() -> Self {
        Self::zero()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Quantity")
            .field(&format_args!("{self}"))
            .field(&self.format)
            .finish()
    }
}

impl fmt::Display for Quantity {
    /// The canonical form, as Kubernetes' `Quantity.String()`: `"0"` for zero; a `BinarySI`
    /// value that is a whole number of at least 1024 in magnitude uses the largest binary
    /// suffix that divides it exactly (`"1536Mi"`, `"1Gi"`); anything else is written in
    /// decimal with a mantissa free of trailing zeros and an exponent that is a multiple of
    /// three: an SI suffix (`DecimalSI`, and `BinarySI` fallbacks) or `e<n>` (`DecimalExponent`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        if self.nanos < 0 {
            f.write_str("-")?;
        }
        let magnitude = self.nanos.unsigned_abs();
        match self.format {
            Format::BinarySI
                if magnitude.is_multiple_of(NANOS_PER_UNIT_U)
                    && magnitude >= 1024 * NANOS_PER_UNIT_U =>
            {
                let mut units = magnitude / NANOS_PER_UNIT_U;
                let mut power = 0;
                while power + 1 < BINARY_SUFFIXES.len() && units.is_multiple_of(1024) {
                    units /= 1024;
                    power += 1;
                }
                let suffix = BINARY_SUFFIXES.get(power).copied().unwrap_or_default();
                write!(f, "{units}{suffix}")
            }
            Format::BinarySI | Format::DecimalSI => Self::fmt_decimal(magnitude, false, f),
            Format::DecimalExponent => Self::fmt_decimal(magnitude, true, f),
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// Accepts a string (surrounding whitespace is trimmed, as Go's `UnmarshalJSON` does) or a
    /// number; a number gives a [`Format::DecimalSI`] quantity. Floats go through their
    /// shortest decimal spelling, so `0.1` is exactly `"100m"`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// Serde visitor for [`Quantity`].
struct QuantityVisitor;

impl QuantityVisitor {
    /// A quantity of `value` whole units, or an out-of-range error.
    fn units<E: de::Error>(value: i128) -> Result<Quantity, E> {
        value
            .checked_mul(NANOS_PER_UNIT)
            .map(|nanos| Quantity {
                nanos,
                format: Format::DecimalSI,
            })
            .ok_or_else(|| {
                E::custom(QuantityError::OutOfRange {
                    input: value.to_string(),
                })
            })
    }
}

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes quantity (a string such as \"500m\" or \"1Gi\", or a number)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        Quantity::parse(v.trim()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Self::units(i128::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Self::units(i128::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Quantity, E> {
        Self::units(v)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Quantity, E> {
        let value = i128::try_from(v).map_err(|_| {
            E::custom(QuantityError::OutOfRange {
                input: v.to_string(),
            })
        })?;
        Self::units(value)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        if !v.is_finite() {
            return Err(E::custom(QuantityError::Malformed {
                input: v.to_string(),
            }));
        }
        // `Display` for f64 never uses an exponent, so this is always in the grammar.
        Quantity::parse(&v.to_string())
            .map(|q| q.with_format(Format::DecimalSI))
            .map_err(E::custom)
    }
}

/// The index of the first non-digit byte at or after `pos`.
fn skip_digits(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

/// The format and multiplier of a suffix, or `None` when it is not valid.
fn parse_suffix(suffix: &str) -> Option<(Format, Multiplier)> {
    let decimal = |e| Some((Format::DecimalSI, Multiplier::Pow10(e)));
    let binary = |e| Some((Format::BinarySI, Multiplier::Pow2(e)));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Like Kubernetes, the exponent must fit in 32 bits.
            let exponent: i32 = exponent.parse().ok()?;
            Some((Format::DecimalExponent, Multiplier::Pow10(exponent)))
        }
    }
}

/// 10^exp as a `u128`; only called with exponents that are known to fit (< 39).
const fn pow10(exp: u32) -> u128 {
    10u128.pow(exp)
}

/// `n / d` rounded away from zero; `d` must be positive.
const fn div_away_from_zero(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 { q } else { q + n.signum() }
}

/// The magnitude in nano-units of `<int_digits>.<frac_digits>` × `multiplier`, rounded away
/// from zero to a whole nano-unit, or `None` when it does not fit in a `u128`.
fn magnitude_nanos(int_digits: &str, frac_digits: &str, multiplier: Multiplier) -> Option<u128> {
    let (exp10, exp2) = match multiplier {
        Multiplier::Pow10(e) => (i128::from(e), 0),
        Multiplier::Pow2(e) => (0, e),
    };
    // value = D × 10^shift × 2^exp2 nano-units, D being all the digits without the dot.
    let shift = exp10 + 9 - i128::try_from(frac_digits.len()).ok()?;
    let digits: Vec<u8> = int_digits
        .bytes()
        .chain(frac_digits.bytes())
        .skip_while(|&b| b == b'0')
        .map(|b| b - b'0')
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    // Split D × 10^shift into a whole part and a fraction (digits after the point).
    let len = i128::try_from(digits.len()).ok()?;
    let (whole_digits, fraction, leading_zeros) = if shift >= 0 {
        (&digits[..], &[][..], 0)
    } else if -shift < len {
        let (whole, fraction) = digits.split_at(usize::try_from(len + shift).ok()?);
        (whole, fraction, 0)
    } else {
        (&[][..], &digits[..], -shift - len)
    };
    let mut whole = digits_to_u128(whole_digits)?;
    if shift > 0 {
        whole = whole.checked_mul(10u128.checked_pow(u32::try_from(shift).ok()?)?)?;
    }
    if exp2 == 0 {
        let round_up = fraction.iter().any(|&d| d != 0);
        return whole.checked_add(u128::from(round_up));
    }
    // Binary: whole × 2^exp2 + ceil(fraction × 2^exp2). Only the first
    // BINARY_FRACTION_DIGITS fraction digits are multiplied exactly: the rest is below
    // 2^exp2 / 10^BINARY_FRACTION_DIGITS, smaller than the spacing of the truncated products,
    // so it can only turn an exact product into one that needs rounding up.
    let zeros = usize::try_from(leading_zeros.min(BINARY_FRACTION_DIGITS as i128)).ok()?;
    let mut kept = vec![0u8; zeros];
    let room = BINARY_FRACTION_DIGITS - zeros;
    kept.extend(fraction.iter().take(room));
    let sticky = fraction.iter().skip(room).any(|&d| d != 0);
    let carried = double_fraction(&mut kept, exp2);
    let inexact = sticky || kept.iter().any(|&d| d != 0);
    whole
        .checked_mul(1u128 << exp2)?
        .checked_add(carried)?
        .checked_add(u128::from(inexact))
}

/// The value of decimal digits (0–9 each), or `None` on overflow.
fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u128::from(d))
    })
}

/// Multiplies the decimal fraction `0.<fraction>` by 2^`exp2` in place and returns the whole
/// part carried out of it (< 2^`exp2`).
fn double_fraction(fraction: &mut [u8], exp2: u32) -> u128 {
    let mut whole = 0u128;
    for _ in 0..exp2 {
        let mut carry = 0u8;
        for digit in fraction.iter_mut().rev() {
            let doubled = *digit * 2 + carry;
            *digit = doubled % 10;
            carry = doubled / 10;
        }
        whole = whole * 2 + u128::from(carry);
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn canonical_forms_match_kubernetes() {
        let cases = [
            ("500m", "500m"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("7970838142n", "7970838142n"),
            ("1e3", "1e3"),
            ("1000", "1k"),
            ("0.5", "500m"),
            ("0", "0"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("100Mi", "100Mi"),
            ("7879752Ki", "7879752Ki"),
            ("0.5Ki", "512"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1k", "1k"),
            ("1M", "1M"),
            ("2e3", "2e3"),
            ("-500m", "-500m"),
            ("100u", "100u"),
            ("1n", "1n"),
            (".5", "500m"),
            ("1.", "1"),
            ("+1", "1"),
            ("-0", "0"),
            ("0Gi", "0"),
            ("000110", "110"),
            ("110", "110"),
            ("1.5e3", "1500"),
            ("1.5e-3", "1500e-6"),
            ("0.5e0", "500e-3"),
            ("1E3", "1e3"),
            ("1e+3", "1e3"),
            ("1e-3", "1e-3"),
            ("12e6", "12e6"),
            ("1E", "1E"),
            ("1000E", "1000E"),
            ("1000000E", "1000000E"),
            ("1Ei", "1Ei"),
            ("1024Ei", "1024Ei"),
            ("2048Ki", "2Mi"),
            ("1536", "1536"),
            ("1023Ki", "1023Ki"),
            ("-1Ki", "-1Ki"),
            ("-1.5Ki", "-1536"),
            ("0.001Ki", "1024m"),
            ("10m", "10m"),
            ("0.1", "100m"),
            ("1.1", "1100m"),
            ("12345678901234", "12345678901234"),
            ("123456789012340", "123456789012340"),
            ("1200", "1200"),
            ("1200000", "1200k"),
        ];
        for (input, canonical) in cases {
            assert_eq!(
                q(input).to_string(),
                canonical,
                "canonical form of {input:?}"
            );
        }
    }

    #[test]
    fn formats_are_kept() {
        assert_eq!(q("1Gi").format(), Format::BinarySI);
        assert_eq!(q("1G").format(), Format::DecimalSI);
        assert_eq!(q("1").format(), Format::DecimalSI);
        assert_eq!(q("1e9").format(), Format::DecimalExponent);
        assert_eq!(q("1E-9").format(), Format::DecimalExponent);
        assert_eq!(
            q("1Gi").with_format(Format::DecimalSI).to_string(),
            "1073741824"
        );
        assert_eq!(
            q("1k").with_format(Format::DecimalExponent).to_string(),
            "1e3"
        );
        assert_eq!(q("2048").with_format(Format::BinarySI).to_string(), "2Ki");
    }

    #[test]
    fn sub_nano_values_round_away_from_zero() {
        assert_eq!(q("0.1n").as_nanos(), 1);
        assert_eq!(q("-0.1n").as_nanos(), -1);
        assert_eq!(q("1.0000000001").as_nanos(), 1_000_000_001);
        assert_eq!(q("1.000000000").as_nanos(), 1_000_000_000);
        assert_eq!(q("1e-2000000000").as_nanos(), 1);
        assert_eq!(q("0e2000000000").as_nanos(), 0);
        assert_eq!(
            q("0.0000000000000000000000000000000000000000000000000000000000001Ki").as_nanos(),
            1
        );
        // 2^-30 units × 2^30 = 1 unit exactly, with all digits kept.
        assert_eq!(
            q("0.000000000931322574615478515625Gi").as_nanos(),
            NANOS_PER_UNIT
        );
        // One more tiny digit far beyond the kept ones still rounds up.
        let long = format!("0.000000000931322574615478515625{}1Gi", "0".repeat(200));
        assert_eq!(q(&long).as_nanos(), NANOS_PER_UNIT + 1);
        assert_eq!(
            q("1.0000000000000000000000000000000000000000000000001Ki").as_nanos(),
            1024 * NANOS_PER_UNIT + 1
        );
        assert_eq!(q("0.0000000001Ki").as_nanos(), 103);
    }

    #[test]
    fn parse_errors_are_typed() {
        assert_eq!(Quantity::parse(""), Err(QuantityError::Empty));
        for input in [
            " 1", "1 ", "1.2.3", "--1", "e3", "Gi", "-", "+", ".", "-.e3", "1,5", "1_000", "１",
        ] {
            assert_eq!(
                Quantity::parse(input),
                Err(QuantityError::Malformed {
                    input: input.to_owned()
                }),
                "{input:?}"
            );
        }
        for (input, suffix) in [
            ("1Kb", "Kb"),
            ("1e", "e"),
            ("1K", "K"),
            ("1ki", "ki"),
            ("1mi", "mi"),
            ("1e+", "e+"),
            ("1e+-3", "e+-3"),
            ("1ee3", "ee3"),
            ("1e3 ", "e3 "),
            ("1e99999999999", "e99999999999"),
            ("1Gi ", "Gi "),
            ("1µ", "µ"),
        ] {
            let expected = if suffix.starts_with(|c: char| c.is_ascii_alphabetic()) {
                QuantityError::InvalidSuffix {
                    input: input.to_owned(),
                    suffix: suffix.to_owned(),
                }
            } else {
                QuantityError::Malformed {
                    input: input.to_owned(),
                }
            };
            assert_eq!(Quantity::parse(input), Err(expected), "{input:?}");
        }
        assert!("1x".parse::<Quantity>().is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let too_big = [
            "1e40",
            "1e2147483647",
            "200000000000000000000000000000",
            "170141183460469231731687303715884105728n",
            "1000000000000000000000000000000000000000000000000000Ki",
            "-1e40",
            "999999999999999999999999999999Ei",
            "99999999999999999999999999999999999999999999999999999999999n",
        ];
        for input in too_big {
            assert_eq!(
                Quantity::parse(input),
                Err(QuantityError::OutOfRange {
                    input: input.to_owned()
                }),
                "{input:?}"
            );
        }
        assert_eq!(
            q("170141183460469231731687303715884105727n").as_nanos(),
            i128::MAX
        );
        assert_eq!(
            q("-170141183460469231731687303715884105728n").as_nanos(),
            i128::MIN
        );
        assert_eq!(
            q("1e29").as_value(),
            100_000_000_000_000_000_000_000_000_000
        );
    }

    #[test]
    fn equality_and_order_are_numeric() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("1"), q("1000m"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("0"), q("-0Gi"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("999m") < q("1"));
        assert!(q("-1") < q("1n"));
        assert!(q("1Ki") < q("1025"));
        assert_eq!(q("1Ki").cmp(&q("1024")), Ordering::Equal);
        let mut sorted = [q("1Gi"), q("1"), q("-2"), q("500m"), q("1M")];
        sorted.sort();
        let shown: Vec<String> = sorted.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["-2", "500m", "1", "1M", "1Gi"]);

        let mut set = std::collections::HashSet::new();
        set.insert(q("1Gi"));
        assert!(set.contains(&q("1024Mi")));
        assert!(set.contains(&q("1073741824")));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            q("1Gi")
                .checked_add(q("512Mi"))
                .map(|x| x.to_string())
                .as_deref(),
            Some("1536Mi")
        );
        assert_eq!(
            q("1")
                .checked_sub(q("250m"))
                .map(|x| x.to_string())
                .as_deref(),
            Some("750m")
        );
        assert_eq!(
            q("1").checked_sub(q("2")).map(|x| x.to_string()).as_deref(),
            Some("-1")
        );
        // The left operand's format wins, unless it is zero.
        assert_eq!(
            q("1G").checked_add(q("1Gi")).map(|x| x.format()),
            Some(Format::DecimalSI)
        );
        assert_eq!(
            Quantity::zero()
                .checked_add(q("1Gi"))
                .map(|x| x.to_string())
                .as_deref(),
            Some("1Gi")
        );
        assert_eq!(
            Quantity::zero()
                .checked_sub(q("1Gi"))
                .map(|x| x.to_string())
                .as_deref(),
            Some("-1Gi")
        );

        let max = Quantity::from_nanos(i128::MAX, Format::DecimalSI);
        let min = Quantity::from_nanos(i128::MIN, Format::DecimalSI);
        assert_eq!(max.checked_add(q("1n")), None);
        assert_eq!(min.checked_sub(q("1n")), None);
        assert_eq!(max.saturating_add(q("1")), max);
        assert_eq!(min.saturating_sub(q("1")), min);
        assert_eq!(q("1").saturating_sub(q("3")), q("-2"));
        assert_eq!(q("1").saturating_add(q("3")), q("4"));
    }

    #[test]
    fn constructors_and_accessors() {
        assert_eq!(Quantity::from_milli(500).to_string(), "500m");
        assert_eq!(Quantity::from_milli(2000).to_string(), "2");
        assert_eq!(
            Quantity::from_milli(i64::MIN).as_milli(),
            i128::from(i64::MIN)
        );
        assert_eq!(Quantity::from_bytes_binary(1 << 30).to_string(), "1Gi");
        assert_eq!(Quantity::from_bytes_binary(1000).to_string(), "1k");
        assert_eq!(
            Quantity::from_bytes_binary(u64::MAX).as_value(),
            i128::from(u64::MAX)
        );
        assert_eq!(Quantity::from_int(110).to_string(), "110");
        assert_eq!(Quantity::from_int(-3).as_value(), -3);
        assert_eq!(Quantity::default(), Quantity::zero());
        assert!(Quantity::default().is_zero());
        assert_eq!(Quantity::zero().to_string(), "0");

        assert_eq!(q("500m").as_value(), 1);
        assert_eq!(q("-500m").as_value(), -1);
        assert_eq!(q("1500m").as_milli(), 1500);
        assert_eq!(q("1n").as_milli(), 1);
        assert_eq!(q("-1n").as_milli(), -1);
        assert_eq!(q("1Ki").as_value(), 1024);
        assert_eq!(q("1Ki").as_milli(), 1_024_000);
        assert!(q("-1n").is_negative());
        assert!(!q("0").is_negative());
        assert!(q("-0").is_zero());
        assert_eq!(format!("{:?}", q("1Gi")), "Quantity(1Gi, BinarySI)");
    }

    #[test]
    fn serde_strings_and_numbers() {
        let from = |json: &str| serde_json::from_str::<Quantity>(json);
        assert_eq!(
            from(r#""1Gi""#).map(|x| x.to_string()).ok().as_deref(),
            Some("1Gi")
        );
        assert_eq!(
            from(r#"" 500m ""#).map(|x| x.to_string()).ok().as_deref(),
            Some("500m")
        );
        assert_eq!(
            from("110").map(|x| x.to_string()).ok().as_deref(),
            Some("110")
        );
        assert_eq!(
            from("1000").map(|x| x.to_string()).ok().as_deref(),
            Some("1k")
        );
        assert_eq!(
            from("-7").map(|x| x.to_string()).ok().as_deref(),
            Some("-7")
        );
        assert_eq!(
            from("0.5").map(|x| x.to_string()).ok().as_deref(),
            Some("500m")
        );
        assert_eq!(from("0.1").map(|x| x.as_nanos()).ok(), Some(100_000_000));
        assert_eq!(
            from("1e3").map(|x| (x.to_string(), x.format())).ok(),
            Some(("1k".to_owned(), Format::DecimalSI))
        );
        assert_eq!(
            from("1.5e-3").map(|x| x.to_string()).ok().as_deref(),
            Some("1500u")
        );
        assert_eq!(
            from("18446744073709551615").map(|x| x.as_value()).ok(),
            Some(i128::from(u64::MAX))
        );
        assert!(from("1e300").is_err());
        assert!(from(r#""1Kb""#).is_err());
        assert!(from(r#""""#).is_err());
        assert!(from("null").is_err());
        assert!(from("true").is_err());
        assert!(from("[]").is_err());

        assert_eq!(
            serde_json::to_string(&q("1024Mi")).ok().as_deref(),
            Some(r#""1Gi""#)
        );
        assert_eq!(
            serde_json::to_string(&q("7970838142n")).ok().as_deref(),
            Some(r#""7970838142n""#)
        );
        let doc: serde_json::Value =
            serde_json::json!({"cpu": "500m", "pods": 110, "memory": "7879752Ki"});
        let map: std::collections::BTreeMap<String, Quantity> =
            serde_json::from_value(doc).unwrap();
        assert_eq!(map["pods"], Quantity::from_int(110));
        let back = serde_json::to_value(&map).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"cpu": "500m", "pods": "110", "memory": "7879752Ki"})
        );
    }

    #[test]
    fn parse_of_format_round_trips() {
        let inputs = [
            "0",
            "1",
            "-1",
            "500m",
            "1Gi",
            "1.5Gi",
            "1024Mi",
            "7970838142n",
            "7879752Ki",
            "1e3",
            "2e3",
            "1.5e-3",
            "0.5Ki",
            "-1.5Ki",
            "1Ei",
            "1024Ei",
            "1000E",
            "1e29",
            "-1e29",
            "100u",
            "1n",
            "12345.6789",
            "170141183460469231731687303715884105727n",
            "-170141183460469231731687303715884105728n",
            "123456789Ki",
            "0.1n",
            "1.23456789012e20",
        ];
        for input in inputs {
            let first = q(input);
            let shown = first.to_string();
            let again = q(&shown);
            assert_eq!(again, first, "{input:?} → {shown:?}");
            assert_eq!(
                again.to_string(),
                shown,
                "canonical form of {input:?} is stable"
            );
        }
    }

    fn any_format() -> impl Strategy<Value = Format> {
        prop_oneof![
            Just(Format::DecimalSI),
            Just(Format::BinarySI),
            Just(Format::DecimalExponent)
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in any::<String>()) {
            let _ = Quantity::parse(&s);
        }

        #[test]
        fn parser_never_panics_on_quantity_like_strings(s in "[-+]?[0-9]{0,45}(\\.[0-9]{0,70})?([eE][-+]?[0-9]{0,12}|[numkMGTPE]i?|Ki|Mi|Gi|Ti|Pi|Ei)?") {
            if let Ok(parsed) = Quantity::parse(&s) {
                prop_assert_eq!(Quantity::parse(&parsed.to_string()), Ok(parsed));
            }
        }

        #[test]
        fn milli_values_round_trip(milli in any::<i64>(), format in any_format()) {
            let value = Quantity::from_milli(milli).with_format(format);
            let again = Quantity::parse(&value.to_string());
            prop_assert_eq!(&again, &Ok(value));
            prop_assert_eq!(again.map(|x| x.as_milli()), Ok(i128::from(milli)));
        }

        #[test]
        fn nano_values_round_trip(nanos in any::<i128>(), format in any_format()) {
            let value = Quantity::from_nanos(nanos, format);
            let shown = value.to_string();
            let again = Quantity::parse(&shown);
            prop_assert_eq!(&again, &Ok(value));
            prop_assert_eq!(again.map(|x| x.to_string()), Ok(shown));
        }

        #[test]
        fn serde_round_trips(nanos in any::<i128>(), format in any_format()) {
            let value = Quantity::from_nanos(nanos, format);
            let json = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), value);
        }

        #[test]
        fn binary_suffix_matches_integer_arithmetic(int in 0u64..1_000_000, frac in 0u32..1000, power in 1u32..=6) {
            let suffix = BINARY_SUFFIXES[power as usize];
            let parsed = q(&format!("{int}.{frac:03}{suffix}"));
            let exact = (u128::from(int) * 1000 + u128::from(frac)) * (1u128 << (10 * power)) * 1_000_000;
            prop_assert_eq!(parsed.as_nanos().unsigned_abs(), exact);
        }
    }
}
