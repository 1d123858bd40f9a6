//! Checks of values that come from outside (flags, option files), shared by every command:
//! each failure is one line naming the option, what it got and what would be accepted.
//! Errors made here are usage errors: `main` exits with code 2 for them (as clap does).

use std::fmt;

/// A bad option value (or combination): the command line must change.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow::Error` (what `bail!` would give, but marked as usage).
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Whether `e` (or anything it wraps) is a usage error.
pub fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<UsageError>())
}

/// `flag` must be at least `min` (1 for counts, sizes and frequencies).
pub fn at_least(flag: &str, v: usize, min: usize) -> anyhow::Result<()> {
    if v < min {
        return Err(usage(format!("{flag} {v}: must be at least {min}")));
    }
    Ok(())
}

/// `flag` must lie in `lo..=hi`.
pub fn in_range(flag: &str, v: usize, lo: usize, hi: usize) -> anyhow::Result<()> {
    if v < lo || v > hi {
        return Err(usage(format!("{flag} {v}: must be between {lo} and {hi}")));
    }
    Ok(())
}

/// `flag` must be a finite number > 0.
pub fn positive(flag: &str, v: f64) -> anyhow::Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(usage(format!("{flag} {v}: must be a finite number greater than 0")));
    }
    Ok(())
}

/// `flag` must be a finite number >= 0.
pub fn non_negative(flag: &str, v: f64) -> anyhow::Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(usage(format!("{flag} {v}: must be a finite number, 0 or more")));
    }
    Ok(())
}

/// `flag` must be a finite number in `[lo, hi)` (Adam's betas: [0, 1)).
pub fn in_unit_interval(flag: &str, v: f64) -> anyhow::Result<()> {
    if !(v.is_finite() && (0.0..1.0).contains(&v)) {
        return Err(usage(format!("{flag} {v}: must be a number in [0, 1)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_usage_errors_naming_the_flag() {
        for e in [
            at_least("--batch-size", 0, 1).unwrap_err(),
            positive("--lr", f64::NAN).unwrap_err(),
            positive("--lr", f64::INFINITY).unwrap_err(),
            non_negative("--lambda-l1", -1.0).unwrap_err(),
            in_unit_interval("--beta1", 1.0).unwrap_err(),
            in_range("--n-layers-d", 9, 1, 8).unwrap_err(),
        ] {
            assert!(is_usage(&e), "{e}");
            assert!(e.to_string().starts_with("--"), "{e}");
        }
        assert!(positive("--lr", 2e-4).is_ok() && non_negative("--x", 0.0).is_ok());
        assert!(in_unit_interval("--beta1", 0.0).is_ok() && at_least("--n", 1, 1).is_ok());
        assert!(!is_usage(&anyhow::anyhow!("other")));
    }
}
