//! Bounded fuzzing of training feature banks with proptest: byte damage to an entry (a read is an
//! error, or exactly the features that were written) and to bank.json, never a panic. Each
//! property runs `VSRQA_FUZZ_CASES` cases (default 48 in CI), as tests/fuzz.rs at the root does.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use vsrqa::bundle::Bundle;
use vsrqa_train::bank::{BankInfo, Entry, FeatureBank};

fn config() -> Config {
    let cases = std::env::var("VSRQA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

fn tiny_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tiny_bundle")
}

fn damage() -> impl Strategy<Value = (Vec<(prop::sample::Index, u8)>, Option<prop::sample::Index>)> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::option::of(any::<prop::sample::Index>()),
    )
}

fn damaged(original: &[u8], (flips, cut): &(Vec<(prop::sample::Index, u8)>, Option<prop::sample::Index>)) -> Vec<u8> {
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

#[test]
fn fuzz_feature_bank_entries() {
    let dir = tempfile::tempdir().unwrap();
    let info = BankInfo::of(&Bundle::load(tiny_bundle()).unwrap()).unwrap();
    let bank = FeatureBank::create(dir.path(), info.clone()).unwrap();
    let features: Vec<f32> = (0..2 * info.feature_dim).map(|i| (i as f32).sin()).collect();
    let entry = Entry { video: "a.y4m".into(), mos: 3.5, group: Some("hard".into()), frames: 9, rows: 2, features };
    bank.write(&entry).unwrap();
    let path = bank.entry_path("a.y4m");
    let original = std::fs::read(&path).unwrap();
    let info_path = dir.path().join("bank.json");
    let original_info = std::fs::read(&info_path).unwrap();
    proptest!(config(), |(d in damage(), info_damage in damage())| {
        std::fs::write(&path, damaged(&original, &d)).unwrap();
        // Damage is an error, or invisible: never other features under the right name.
        if let Ok(Some(read)) = bank.read("a.y4m") {
            prop_assert_eq!(&read.features, &entry.features);
            prop_assert_eq!(read.rows, entry.rows);
        }
        let _ = bank.entries();
        std::fs::write(&info_path, damaged(&original_info, &info_damage)).unwrap();
        let _ = FeatureBank::open(dir.path());
        std::fs::write(&info_path, &original_info).unwrap();
    });
}
