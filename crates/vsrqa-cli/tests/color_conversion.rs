//! `--color-conversion` through the binary: the reference conversion of an mp4 scores what the
//! frames OpenCV decoded from it score (the frames the reference pipeline feeds its networks, and
//! the tiny bundle's goldens already tie vsrqa to the PyTorch reference on the same RGB frames);
//! the bundle's conversion is the default; every decoding command takes the option; a bank
//! records the conversion in its fingerprint.

use std::path::Path;

use safetensors::SafeTensors;

#[path = "support/cli.rs"]
mod cli;
use cli::{data, stderr, vsrqa};

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn score(args: &[&str]) -> serde_json::Value {
    let output = vsrqa(&[&["score", "-m", &s(&data("tiny_bundle"))], args].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn reference_conversion_of_an_mp4_scores_what_opencvs_frames_score() {
    // OpenCV's BGR frames of the clip, as raw input.
    let bytes = std::fs::read(data("golden/opencv_frames.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for clip in ["h264_420.mp4", "h264_709.mp4", "h264_10bit.mp4"] {
        let raw = dir.path().join(format!("{clip}.bgr"));
        std::fs::write(&raw, golden.tensor(clip).unwrap().data()).unwrap();
        let from_opencv = score(&["--pix-fmt", "bgr24", "--size", "64x48", "--fps", "25", &s(&raw)]);
        let mp4 = s(&data(&format!("opencv/{clip}")));
        let reference = score(&["--color-conversion", "reference", &mp4]);
        assert_eq!(reference["clip_score"], from_opencv["clip_score"], "{clip}");
        assert_eq!(reference["input"]["color_conversion"], "reference");
        assert_eq!(reference["input"]["color_matrix"], "bt601", "{clip}: the tag is ignored");
        // The tiny bundle asks for the exact conversion: the default follows it.
        let exact = score(&[&mp4]);
        assert_eq!(exact["input"]["color_conversion"], "exact");
        assert_ne!(exact["clip_score"], reference["clip_score"], "{clip}");
    }
}

#[test]
fn color_matrix_belongs_to_the_exact_conversion() {
    let mp4 = s(&data("opencv/h264_709.mp4"));
    let output = vsrqa(&[
        "score",
        "-m",
        &s(&data("tiny_bundle")),
        "--color-conversion",
        "reference",
        "--color-matrix",
        "bt709",
        &mp4,
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--color-conversion exact"), "{}", stderr(&output));
    let bad = vsrqa(&["score", "-m", &s(&data("tiny_bundle")), "--color-conversion", "opencv", &mp4]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("use reference or exact"), "{}", stderr(&bad));
}

#[test]
fn every_decoding_command_takes_the_option_and_a_bank_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.csv");
    let mp4 = s(&data("opencv/h264_420.mp4"));
    std::fs::write(&list, format!("video,mos\n{mp4},3.0\n{},4.0\n", s(&data("opencv/h264_crop.mp4")))).unwrap();
    let tiny = s(&data("tiny_bundle"));
    let bank = dir.path().join("bank");
    let made = vsrqa(&[
        "features",
        "-m",
        &tiny,
        "--list",
        &s(&list),
        "--out",
        &s(&bank),
        "--color-conversion",
        "reference",
        "-q",
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bank.join("bank.json")).unwrap()).unwrap();
    assert_eq!(info["color_conversion"], "reference");
    // The same bank with the other conversion: refused, nothing mixed.
    let mixed = vsrqa(&["features", "-m", &tiny, "--list", &s(&list), "--out", &s(&bank), "-q"]);
    assert!(!mixed.status.success());
    assert!(stderr(&mixed).contains("another model"), "{}", stderr(&mixed));
    // eval from the bank with the bundle's own (exact) conversion: refused, naming both.
    let eval = vsrqa(&["eval", "-m", &tiny, "--list", &s(&list), "--bank", &s(&bank)]);
    assert!(!eval.status.success());
    assert!(
        stderr(&eval).contains("the reference conversion) than --model's with these options (the exact conversion)"),
        "{}",
        stderr(&eval)
    );
    let eval =
        vsrqa(&["eval", "-m", &tiny, "--list", &s(&list), "--bank", &s(&bank), "--color-conversion", "reference"]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    // compare and bench take it too.
    let compare =
        vsrqa(&["compare", "--model", &tiny, "--model", &tiny, "--list", &s(&list), "--color-conversion", "exact"]);
    assert!(compare.status.success(), "{}", stderr(&compare));
    let bench = vsrqa(&["bench", "-m", &tiny, "--repeat", "1", "--color-conversion", "exact", &s(&data("sample.y4m"))]);
    assert!(bench.status.success(), "{}", stderr(&bench));
}
