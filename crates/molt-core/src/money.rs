//! Money is integer micro-USD: no float rounding ever reaches a ledger.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in millionths of a US dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MicroUsd(pub i64);

impl MicroUsd {
    pub const ZERO: MicroUsd = MicroUsd(0);

    pub fn from_dollars_cents(dollars: i64, cents: i64) -> Self {
        MicroUsd(dollars * 1_000_000 + cents * 10_000)
    }
}

impl fmt::Display for MicroUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_exact_dollars() {
        assert_eq!(MicroUsd::from_dollars_cents(0, 50).to_string(), "$0.500000");
        assert_eq!(MicroUsd(-1).to_string(), "-$0.000001");
        assert_eq!(MicroUsd(12_345_678).to_string(), "$12.345678");
    }
}
