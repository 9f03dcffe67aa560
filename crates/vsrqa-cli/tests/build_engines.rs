//! `vsrqa build-engines` with TensorRT-RTX's real library (VSRQA_TEST_TENSORRT_RTX, set by
//! scripts/test.sh), on a machine without a GPU. With the `tensorrt-rtx` feature the engines are
//! built, cached, reused and rebuilt when damaged; with `tensorrt` (TensorRT 10/11) that library is
//! refused; without either the command says why it cannot build.

use std::path::Path;
use std::process::{Command, Output};

fn build_engines(cache: &Path) -> Output {
    let rtx = std::env::var("VSRQA_TEST_TENSORRT_RTX").expect("VSRQA_TEST_TENSORRT_RTX: run scripts/test.sh");
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tiny_bundle");
    Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["build-engines", "-m", bundle.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap()])
        .args(["--optimization-level", "0"])
        .env("VSRQA_TENSORRT_LIBRARY", rtx)
        .output()
        .unwrap()
}

#[cfg(feature = "tensorrt-rtx")]
fn report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
}

#[cfg(feature = "tensorrt-rtx")]
fn outcomes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["engines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let what = if e["ok"] == true { e["outcome"].as_str().unwrap() } else { "failed" };
            (e["branch"].as_str().unwrap().to_string(), what.to_string())
        })
        .collect()
}

#[cfg(feature = "tensorrt-rtx")]
#[test]
fn build_engines_builds_caches_and_rebuilds_damaged_engines() {
    let cache = tempfile::tempdir().unwrap();
    let first = build_engines(cache.path());
    // Every branch is built, Q-Align too (its export folds the NonZero TensorRT-RTX lacks).
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let first_report = report(&first);
    let expected = |outcome: &str| {
        ["spatial", "slowfast", "liqe", "fastvqa", "qalign"]
            .iter()
            .map(|b| (b.to_string(), outcome.to_string()))
            .collect::<Vec<_>>()
    };
    let mut got = outcomes(&first_report);
    got.sort();
    let mut want = expected("built");
    want.sort();
    assert_eq!(got, want);

    // Again: every engine comes from the cache, unchanged.
    let paths: Vec<std::path::PathBuf> = first_report["engines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ok"] == true)
        .map(|e| std::path::PathBuf::from(e["path"].as_str().unwrap()))
        .collect();
    let before: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut got = outcomes(&report(&build_engines(cache.path())));
    got.sort();
    let mut want = expected("cached");
    want.sort();
    assert_eq!(got, want);
    assert_eq!(before, paths.iter().map(|p| std::fs::read(p).unwrap()).collect::<Vec<_>>());

    // A damaged engine file is rebuilt; the others stay cached.
    let damaged = &paths[0];
    let mut bytes = std::fs::read(damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(damaged, &bytes).unwrap();
    let third = outcomes(&report(&build_engines(cache.path())));
    let rebuilt: Vec<_> = third.iter().filter(|(_, o)| o == "rebuilt").collect();
    assert_eq!(rebuilt.len(), 1, "{third:?}");
    assert!(std::fs::read(damaged).unwrap().len() > 10_000);
    // Nothing but the engines in the cache (no temporaries).
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 5);
}

#[cfg(not(any(feature = "tensorrt-rtx", feature = "tensorrt")))]
#[test]
fn build_engines_without_the_feature_says_why() {
    let cache = tempfile::tempdir().unwrap();
    let output = build_engines(cache.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TensorRT-RTX 1.")
            && stderr.contains(
                "found, but this build has no TensorRT runner (built without the `tensorrt-rtx` or `tensorrt` feature)"
            ),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

/// Built with `tensorrt` (scripts/test.sh: against TensorRT 11.4's headers from crates.io): the
/// facade drives libnvinfer of that major release only. TensorRT-RTX's library is refused with
/// both sides named, before anything is built; with no library set, the search is for the one it
/// can drive; and TensorRT 10/11 builds need the GPU the engines are for, which CI lacks.
#[cfg(feature = "tensorrt")]
#[test]
fn build_engines_with_tensorrt_headers_drives_only_their_release() {
    let cache = tempfile::tempdir().unwrap();
    let headers = vsrqa::backend::tensorrt::library::compiled().expect("the `tensorrt` feature has a facade");
    let refused = build_engines(cache.path());
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let expected = format!(
        "found, but this build's TensorRT facade is compiled against {} headers, whose API differs",
        headers.describe()
    );
    assert!(stderr.contains("TensorRT-RTX 1.") && stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains(&format!("at a {} library", headers.drives())), "{stderr}");

    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tiny_bundle");
    let run = |library: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vsrqa"));
        command.args(["build-engines", "-m", bundle.to_str().unwrap(), "--cache-dir", cache.path().to_str().unwrap()]);
        match library {
            Some(library) => command.env("VSRQA_TENSORRT_LIBRARY", library),
            None => command.env_remove("VSRQA_TENSORRT_LIBRARY"),
        };
        command.output().unwrap()
    };
    let searched = run(None);
    assert_eq!(searched.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&searched.stderr);
    let name = format!("libnvinfer.so.{}", headers.version.0);
    assert!(stderr.contains(&format!("no TensorRT library found (tried {name};")), "{stderr}");

    // A library of the right release: a stand-in that reports the headers' version
    // (support/fake_nvinfer.rs) is accepted, and the build stops at the GPU where there is none
    // (CI), else at the ONNX parser the stand-in lacks.
    let libraries = tempfile::tempdir().unwrap();
    let fake = fake_nvinfer::build(libraries.path(), &name, headers.version);
    let stopped = run(Some(&fake));
    assert_eq!(stopped.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    match vsrqa::backend::cuda_device::devices() {
        Err(reason) => {
            let expected = format!("{} builds an engine on the GPU it is for: {reason}", headers.describe());
            assert!(stderr.contains(&expected), "{stderr}");
        }
        Ok(_) => assert!(stderr.contains(&format!("libnvonnxparser.so.{}", headers.version.0)), "{stderr}"),
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[cfg(feature = "tensorrt")]
#[path = "support/fake_nvinfer.rs"]
mod fake_nvinfer;

#[cfg(feature = "tensorrt-rtx")]
#[path = "support/small_filesystem.rs"]
mod small_filesystem;

/// The engine cache on a real full disk (a 64 KiB tmpfs, smaller than any plan): the first plan
/// cannot be stored, the error says the disk is full, the other branches are not built for
/// nothing, and no partial file is left; after space is freed the same command builds them all.
#[cfg(feature = "tensorrt-rtx")]
#[test]
fn full_disk_engine_cache_stops_and_builds_after_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let (mount_point, out) = (dir.path().join("small"), dir.path().join("out"));
    std::fs::create_dir_all(&mount_point).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
        build() {
            "$VSRQA" build-engines -m "$MODEL" --cache-dir "$FS/engines" --optimization-level 0 > "$OUT/$1.json" 2> "$OUT/$1.err"
            echo $? > "$OUT/$1.rc"; mkdir "$OUT/$1"; cp -a "$FS/." "$OUT/$1"
        }
        build full
        mount -o remount,size=256m "$FS"
        build freed
    "#;
    let rtx = std::path::PathBuf::from(std::env::var("VSRQA_TEST_TENSORRT_RTX").expect("VSRQA_TEST_TENSORRT_RTX"));
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_vsrqa"));
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tiny_bundle");
    let vars = [("VSRQA", &binary), ("MODEL", &bundle), ("OUT", &out), ("VSRQA_TENSORRT_LIBRARY", &rtx)];
    let vars: Vec<(&str, &Path)> = vars.iter().map(|(name, path)| (*name, path.as_path())).collect();
    let output = small_filesystem::run_script(&mount_point, 64, script, &vars);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();

    assert_eq!(read("full.rc").trim(), "1", "{}", read("full.err"));
    let full: serde_json::Value = serde_json::from_str(&read("full.json")).unwrap();
    let errors: Vec<&str> = full["engines"].as_array().unwrap().iter().map(|e| e["error"].as_str().unwrap()).collect();
    assert!(errors[0].contains("the disk is full") && errors[0].contains("No space left"), "{errors:?}");
    assert!(errors[1..].iter().all(|e| e.starts_with("not attempted: ")), "{errors:?}");
    // One progress line: the branches after the full disk were not built.
    assert_eq!(read("full.err").lines().filter(|l| l.starts_with('[')).count(), 1, "{}", read("full.err"));
    let left: Vec<_> = std::fs::read_dir(out.join("full/engines")).unwrap().collect();
    assert!(left.is_empty(), "left in the full cache: {left:?}");

    let freed: serde_json::Value = serde_json::from_str(&read("freed.json")).unwrap();
    let mut got = outcomes(&freed);
    got.sort();
    let mut want: Vec<(String, String)> = ["fastvqa", "liqe", "qalign", "slowfast", "spatial"]
        .iter()
        .map(|b| (b.to_string(), "built".to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(small_filesystem::temporaries(&out.join("freed")), Vec::<String>::new());
}
