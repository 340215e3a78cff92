//! Small pieces every stage uses: the display name of an enum (its serde name, the one spelling
//! in every output), float formatting that round-trips, seeded randomness, calendar dates, and the
//! one atomic file writer.

pub mod atomic;
pub mod dates;
pub mod fuzz;
pub mod limits;
pub mod rng;

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
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}
