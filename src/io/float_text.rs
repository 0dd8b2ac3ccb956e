//! f32 values as text, the way `{}` writes them (shortest digits that read back as the same f32,
//! never an exponent), without the standard library's float formatting in the browser's wasm.
//!
//! `core::fmt`'s float code (Grisu with a Dragon4 fallback on big integers) is about 21 KB of
//! the wasm, and every `{}` of an f32 anywhere the page can reach pulls all of it in. The crate
//! formats f32s in error messages, layer names and the config text, so those write `FloatText`:
//! natively it is exactly `{}`; in the browser it is `shortest` below, which the tests hold to
//! `{}` over millions of values.

use std::fmt;

/// Displays an f32 as `{}` does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatText(pub f32);

impl fmt::Display for FloatText {
    #[cfg(not(target_arch = "wasm32"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }

    #[cfg(target_arch = "wasm32")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shortest(self.0))
    }
}

/// `x` in the fewest significant digits that read back as `x` (the closest such digits when
/// several do), in positional notation: what `format!("{x}")` gives.
///
/// Digits come from f64 arithmetic on the exact f64 value of `x`: its relative error (about
/// 1e-16) is far below an f32's spacing (6e-8), so a candidate is misjudged only when it lies
/// within that error of the midpoint between two f32s, which a decimal of at most 9 digits
/// does not (a midpoint has about 24 significant digits, or is exact in f64 and then judged
/// exactly).
pub fn shortest(x: f32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    if x == 0.0 {
        return format!("{sign}0");
    }
    let v = (x as f64).abs();
    let target = x.abs();
    // Decimal exponent of the leading digit: 10^e ≤ v < 10^(e+1), up to the rounding of powi,
    // which the digit count below corrects.
    let mut e: i32 = 0;
    while v >= pow10(e + 1) {
        e += 1;
    }
    while v < pow10(e) {
        e -= 1;
    }
    for p in 1..=9i32 {
        // The p-digit integer nearest v·10^(p−1−e), and its neighbours for the one case the
        // nearest misses: just above a power of two, where the f32 below is half as far away.
        let scaled = scale(v, p - 1 - e);
        let nearest = scaled.round() as u64;
        let mut best: Option<(u64, f64)> = None;
        for d in [nearest, nearest.wrapping_sub(1), nearest + 1] {
            if d == 0 || d == u64::MAX {
                continue;
            }
            if scale(d as f64, e + 1 - p) as f32 == target {
                let distance = (d as f64 - scaled).abs();
                if best.is_none_or(|(_, b)| distance < b) {
                    best = Some((d, distance));
                }
            }
        }
        if let Some((digits, _)) = best {
            return positional(sign, digits, e + 1 - p);
        }
    }
    // Nine significant digits always identify an f32, so this is not reached; `{:e}`-free
    // fallback all the same.
    positional(sign, scale(v, 8 - e).round() as u64, e - 8)
}

/// v·10^k, dividing for negative k (10^|k| is exact up to |k| = 22, so the result is correctly
/// rounded there).
fn scale(v: f64, k: i32) -> f64 {
    if k >= 0 {
        v * pow10(k)
    } else {
        v / pow10(-k)
    }
}

fn pow10(k: i32) -> f64 {
    10f64.powi(k)
}

/// sign, then digits·10^k without an exponent: "1200", "0.0012", "1.5".
fn positional(sign: &str, mut digits: u64, mut k: i32) -> String {
    while digits != 0 && digits.is_multiple_of(10) {
        digits /= 10;
        k += 1;
    }
    let text = digits.to_string();
    let n = text.len() as i32;
    if k >= 0 {
        format!("{sign}{text}{}", "0".repeat(k as usize))
    } else if n + k > 0 {
        let (int, frac) = text.split_at((n + k) as usize);
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}0.{}{text}", "0".repeat((-(n + k)) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f32) {
        assert_eq!(shortest(x), format!("{x}"), "bits {:#010x}", x.to_bits());
    }

    #[test]
    fn special_and_chosen_values() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            0.2,
            0.3,
            2e-4,
            1e-3,
            5e-5,
            1e-8,
            0.999,
            0.9999,
            0.5,
            0.2,
            1e-45,
            3.4028235e38,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            16777216.0,
            16777218.0,
            1e20,
            1e-20,
            123456.79,
            7.0e-45,
        ] {
            check(x);
        }
        assert_eq!(shortest(f32::NAN), "NaN");
        assert_eq!(shortest(f32::INFINITY), "inf");
        assert_eq!(shortest(f32::NEG_INFINITY), "-inf");
    }

    #[test]
    fn every_power_of_two_and_its_neighbours() {
        // Just above a power of two the rounding interval is lopsided: the case the nearest
        // digits alone would miss.
        for e in -149..=127 {
            let x = 2f32.powi(e);
            for bits in [x.to_bits().saturating_sub(1), x.to_bits(), x.to_bits() + 1] {
                let y = f32::from_bits(bits);
                if y.is_finite() {
                    check(y);
                    check(-y);
                }
            }
        }
    }

    #[test]
    fn random_bit_patterns_and_short_decimals() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let n: usize = std::env::var("FLOAT_TEXT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        for _ in 0..n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f32::from_bits(state as u32);
            if x.is_finite() {
                check(x);
            }
            // Values people type: a few digits times a power of ten.
            let digits = (state >> 32) % 100_000;
            let exp = ((state >> 52) % 60) as i32 - 40;
            let y: f32 = format!("{digits}e{exp}").parse().unwrap_or(0.0);
            if y.is_finite() {
                check(y);
            }
        }
    }
}
