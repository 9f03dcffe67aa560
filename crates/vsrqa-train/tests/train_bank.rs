//! The feature bank's storage (vsrqa_train::bank): round trips, checksums, the model fingerprint,
//! versioning and the leftovers of interrupted runs. The resumable extraction itself (kill and
//! rerun `vsrqa features`) is tested in crates/vsrqa-cli/tests/train_cli.rs.

use vsrqa::bundle::Bundle;
use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange};
use vsrqa_train::bank::{fingerprint, BankInfo, Decoding, Entry, FeatureBank};

fn tiny_bundle() -> Bundle {
    Bundle::load(vsrqa_testkit::tiny_bundle()).unwrap()
}

fn entry(info: &BankInfo, video: &str, rows: usize, mos: f64) -> Entry {
    let features = (0..rows * info.feature_dim).map(|i| (i as f32 * 0.37).sin()).collect();
    Entry { video: video.into(), mos, group: Some("hard".into()), frames: 20, frames_used: Some(16), rows, features }
}

#[test]
fn train_bank_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let info = BankInfo::of(&tiny_bundle(), ColorConversion::Exact.into()).unwrap();
    assert_eq!(info.feature_dim, 671);
    assert_eq!(info.head.layer_outputs, vec![8, 1]);
    let bank = FeatureBank::create(dir.path(), info.clone()).unwrap();
    assert_eq!(bank.read("clips/a.mp4").unwrap(), None);
    let a = entry(&info, "clips/a.mp4", 8, 3.25);
    let b = Entry { group: None, mos: 0.1 + 0.2, ..entry(&info, "b, with a comma.y4m", 2, 0.0) };
    bank.write(&a).unwrap();
    bank.write(&b).unwrap();
    assert_eq!(bank.read("clips/a.mp4").unwrap().as_ref(), Some(&a));
    // Sorted by name; MOS kept exactly (0.1 + 0.2 is not 0.3).
    assert_eq!(bank.entries().unwrap(), vec![b.clone(), a.clone()]);
    // Reopened from disk: the same bank.
    let reopened = FeatureBank::open(dir.path()).unwrap();
    assert_eq!(reopened.info, info);
    assert_eq!(reopened.entries().unwrap().len(), 2);
    // Writing again replaces.
    bank.write(&Entry { mos: 4.0, ..a.clone() }).unwrap();
    assert_eq!(bank.read("clips/a.mp4").unwrap().unwrap().mos, 4.0);
    // A feature block of the wrong width is refused.
    let mut bad = a.clone();
    bad.features.pop();
    assert!(bank.write(&bad).unwrap_err().to_string().contains("features for 8 rows"));
}

#[test]
fn train_bank_detects_damage() {
    let dir = tempfile::tempdir().unwrap();
    let info = BankInfo::of(&tiny_bundle(), ColorConversion::Exact.into()).unwrap();
    let bank = FeatureBank::create(dir.path(), info.clone()).unwrap();
    let a = entry(&info, "a.y4m", 3, 2.0);
    bank.write(&a).unwrap();
    let path = bank.entry_path("a.y4m");
    let original = std::fs::read(&path).unwrap();

    // One flipped bit in the features: the checksum catches it.
    let mut flipped = original.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x10;
    std::fs::write(&path, &flipped).unwrap();
    let error = bank.read("a.y4m").unwrap_err().to_string();
    assert!(error.contains("checksum"), "{error}");
    assert!(bank.entries().unwrap_err().to_string().contains("checksum"));

    // Truncated (a crash without the atomic rename would leave this).
    std::fs::write(&path, &original[..original.len() / 2]).unwrap();
    assert!(bank.read("a.y4m").unwrap_err().to_string().contains("damaged entry"));

    // Leftover temporary files are not entries, and are removed.
    std::fs::write(&path, &original).unwrap();
    std::fs::write(path.with_file_name(".partial-999-x.safetensors"), b"half").unwrap();
    assert_eq!(bank.entries().unwrap().len(), 1);
    assert_eq!(bank.remove_temporaries().unwrap(), 1);
    assert_eq!(bank.remove_temporaries().unwrap(), 0);
    assert_eq!(bank.read("a.y4m").unwrap(), Some(a));
}

#[test]
fn train_bank_belongs_to_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = tiny_bundle();
    let info = BankInfo::of(&bundle, ColorConversion::Exact.into()).unwrap();
    assert_eq!(info.fingerprint, fingerprint(&bundle, ColorConversion::Exact.into()).unwrap());
    FeatureBank::create(dir.path(), info.clone()).unwrap();
    // Reopening with the same model resumes.
    FeatureBank::create(dir.path(), info.clone()).unwrap();

    // Another network file (one byte of its hash) is another model.
    let mut other_bundle = bundle.clone();
    other_bundle.networks[1].sha256.replace_range(0..1, "x");
    let other = BankInfo::of(&other_bundle, ColorConversion::Exact.into()).unwrap();
    assert_ne!(other.fingerprint, info.fingerprint);
    let error = FeatureBank::create(dir.path(), other.clone()).err().unwrap().to_string();
    assert!(error.contains("another model"), "{error}");

    // An entry copied in from a bank of another model is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other_bank = FeatureBank::create(other_dir.path(), other.clone()).unwrap();
    other_bank.write(&entry(&other, "a.y4m", 1, 1.0)).unwrap();
    let bank = FeatureBank::open(dir.path()).unwrap();
    std::fs::copy(other_bank.entry_path("a.y4m"), bank.entry_path("a.y4m")).unwrap();
    assert!(bank.read("a.y4m").unwrap_err().to_string().contains("another model"));

    // A bank from a newer vsrqa, or something else entirely, is named as such.
    let manifest = dir.path().join("bank.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"version\": 1", "\"version\": 2")).unwrap();
    assert!(FeatureBank::open(dir.path()).err().unwrap().to_string().contains("version 2 is not supported"));
    std::fs::write(&manifest, "{\"format\": \"vsrqa-bundle\"}").unwrap();
    assert!(FeatureBank::open(dir.path()).err().unwrap().to_string().contains("not a feature bank"));
    let missing = tempfile::tempdir().unwrap();
    assert!(FeatureBank::open(missing.path()).err().unwrap().to_string().contains("bank.json"));
}

#[test]
fn train_bank_fingerprint_ignores_provenance() {
    // Provenance says where the weights came from; the network hashes already pin them, so a bundle
    // that records (or corrects) its provenance keeps its banks.
    let bundle = tiny_bundle();
    let mut unrecorded = bundle.clone();
    unrecorded.manifest.provenance = None;
    let mut trained = bundle.clone();
    let provenance = trained.manifest.provenance.as_mut().unwrap();
    provenance.head = Some(vsrqa::bundle::Origin::trained(&"a".repeat(64)));
    provenance.branches.remove("liqe");
    let expected = fingerprint(&bundle, ColorConversion::Exact.into()).unwrap();
    assert_eq!(fingerprint(&unrecorded, ColorConversion::Exact.into()).unwrap(), expected);
    assert_eq!(fingerprint(&trained, ColorConversion::Exact.into()).unwrap(), expected);
}

#[test]
fn train_bank_fingerprint_depends_on_the_color_conversion() {
    // Frames converted otherwise give other features: a bank must not mix them.
    let bundle = tiny_bundle();
    let reference = BankInfo::of(&bundle, ColorConversion::Reference.into()).unwrap();
    let exact = BankInfo::of(&bundle, ColorConversion::Exact.into()).unwrap();
    assert_ne!(reference.fingerprint, exact.fingerprint);
    assert_eq!(reference.color_conversion, ColorConversion::Reference);
}

#[test]
fn train_bank_fingerprint_depends_on_the_tags_set_over_the_files() {
    let bundle = tiny_bundle();
    let plain = Decoding::from(ColorConversion::Exact);
    let matrix = Decoding { matrix: Some(ColorMatrix::Bt709), ..plain };
    let range = Decoding { range: Some(ColorRange::Full), ..plain };
    let prints: Vec<String> = [plain, matrix, range].iter().map(|&d| fingerprint(&bundle, d).unwrap()).collect();
    assert_ne!(prints[0], prints[1]);
    assert_ne!(prints[0], prints[2]);
    assert_ne!(prints[1], prints[2]);
    // Without them, the fingerprint is the one banks were written with before they existed: the
    // SHA-256 of these four fields' JSON, so those banks still open.
    let before = serde_json::json!({
        "key_frames": bundle.manifest.key_frames,
        "branches": bundle.manifest.branches,
        "networks": bundle.networks.iter().map(|n| n.sha256.clone()).collect::<Vec<_>>(),
        "color_conversion": "exact",
    });
    assert_eq!(prints[0], vsrqa::bundle::sha256_hex(serde_json::to_string(&before).unwrap().as_bytes()));
}

#[test]
fn train_bank_records_the_tags_set_over_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let decoding = Decoding {
        conversion: ColorConversion::Exact,
        matrix: Some(ColorMatrix::Bt2020),
        range: Some(ColorRange::Full),
    };
    FeatureBank::create(dir.path(), BankInfo::of(&tiny_bundle(), decoding).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("bank.json")).unwrap();
    assert!(text.contains("\"color_matrix\": \"bt2020\"") && text.contains("\"color_range\": \"full\""), "{text}");
    assert_eq!(FeatureBank::open(dir.path()).unwrap().info.decoding(), decoding);
    // A bank without them records none (the files' own tags were used).
    let plain = tempfile::tempdir().unwrap();
    FeatureBank::create(plain.path(), BankInfo::of(&tiny_bundle(), ColorConversion::Exact.into()).unwrap()).unwrap();
    let text = std::fs::read_to_string(plain.path().join("bank.json")).unwrap();
    assert!(!text.contains("color_matrix") && !text.contains("color_range"), "{text}");
    assert_eq!(FeatureBank::open(plain.path()).unwrap().info.decoding(), ColorConversion::Exact.into());
}
