//! Bounded fuzzing of training feature banks with proptest: byte damage to an entry (a read is an
//! error, or exactly the features that were written) and to bank.json, never a panic. Each
//! property runs `VSRQA_FUZZ_CASES` cases (default 48 in CI), with tests/fuzz.rs's damage
//! (tests/support/fuzz_damage.rs).

#[path = "../../../tests/support/fuzz_damage.rs"]
mod fuzz_damage;

use proptest::prelude::*;
use vsrqa::bundle::Bundle;
use vsrqa::frame::ColorConversion;
use vsrqa_testkit::tiny_bundle;
use vsrqa_train::bank::{BankInfo, Entry, FeatureBank};

use fuzz_damage::{config, damage, damaged};

#[test]
fn fuzz_feature_bank_entries() {
    let dir = tempfile::tempdir().unwrap();
    let info = BankInfo::of(&Bundle::load(tiny_bundle()).unwrap(), ColorConversion::Exact.into()).unwrap();
    let bank = FeatureBank::create(dir.path(), info.clone()).unwrap();
    let features: Vec<f32> = (0..2 * info.feature_dim).map(|i| (i as f32).sin()).collect();
    let entry = Entry {
        video: "a.y4m".into(),
        mos: 3.5,
        group: Some("hard".into()),
        frames: 9,
        frames_used: None,
        rows: 2,
        features,
    };
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
