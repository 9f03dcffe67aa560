//! The damage the fuzz tests do to files, shared by tests/fuzz.rs and
//! crates/vsrqa-train/tests/fuzz_bank.rs: up to 8 flipped bytes and an optional truncation.
//! Each property runs `VSRQA_FUZZ_CASES` cases (default 48 in CI).
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

pub fn config() -> Config {
    let cases = std::env::var("VSRQA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

pub type Damage = (Vec<(prop::sample::Index, u8)>, Option<prop::sample::Index>);

pub fn damage() -> impl Strategy<Value = Damage> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::option::of(any::<prop::sample::Index>()),
    )
}

pub fn damaged(original: &[u8], (flips, cut): &Damage) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for (index, value) in flips {
        let i = index.index(bytes.len());
        bytes[i] ^= value | 1;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len()));
    }
    bytes
}
