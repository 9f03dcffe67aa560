//! Every way a bundle can be broken is reported as `Error::Bundle`, naming the file at fault
//! and saying what is wrong. Each test copies the tiny bundle and breaks one thing.

use std::path::{Path, PathBuf};

use vsrqa::backend::BackendKind;
use vsrqa::bundle::Bundle;
use vsrqa::{Engine, EngineOptions, Error};
use vsrqa_testkit::tiny_bundle;

/// A writable copy of the tiny bundle.
fn copy_bundle() -> tempfile::TempDir {
    vsrqa_testkit::copy_of(&tiny_bundle())
}

/// The tiny bundle's manifest, for the sizes the tests expect (read, not written into the tests:
/// a regenerated tiny bundle changes them).
fn tiny_manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(tiny_bundle().join("vsrqa.json")).unwrap()).unwrap()
}

/// Each branch's (name, output_dim), in the manifest's order.
fn branch_dims(manifest: &serde_json::Value) -> Vec<(String, u64)> {
    let branches = manifest["branches"].as_array().unwrap();
    branches.iter().map(|b| (b["name"].as_str().unwrap().to_string(), b["output_dim"].as_u64().unwrap())).collect()
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("vsrqa.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

/// Loads the bundle (and, through an engine on the CPU backend, its networks) and returns the
/// bundle error's file and message. Where ONNX Runtime's library is found (scripts/test.sh), its
/// backend must refuse the bundle too, naming the same file.
fn bundle_error(dir: &Path) -> (PathBuf, String) {
    let (path, message) = bundle_error_on(dir, BackendKind::Cpu);
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        assert_eq!(bundle_error_on(dir, BackendKind::OnnxRuntime).0, path);
    }
    (path, message)
}

fn bundle_error_on(dir: &Path, backend: BackendKind) -> (PathBuf, String) {
    let options = EngineOptions { backend, ..EngineOptions::default() };
    let result = Bundle::load(dir).and_then(|_| Engine::new(dir, options).map(|_| ()));
    match result {
        Err(Error::Bundle { path, message, .. }) => (path, message),
        Err(other) => panic!("expected a bundle error from {backend:?}, got {other:?}"),
        Ok(()) => panic!("the broken bundle loaded on {backend:?}"),
    }
}

/// The network errors read the same on the ONNX Runtime backend (when its library is found).
fn assert_onnxruntime_mentions(dir: &Path, words: &[&str]) {
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        assert_mentions(&bundle_error_on(dir, BackendKind::OnnxRuntime).1, words);
    }
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "message {message:?} does not mention {word:?}");
    }
}

#[test]
fn the_tiny_bundle_loads() {
    let bundle = Bundle::load(tiny_bundle()).unwrap();
    let manifest = tiny_manifest();
    let dims = branch_dims(&manifest);
    assert_eq!(bundle.feature_dim() as u64, dims.iter().map(|(_, dim)| dim).sum::<u64>());
    assert_eq!(bundle.feature_dim() as u64, manifest["head"]["input_dim"].as_u64().unwrap());
    assert_eq!(bundle.networks.len(), dims.len());
    for file in &bundle.networks {
        assert_eq!(file.sha256.len(), 64);
    }
}

#[test]
fn missing_directory() {
    let (path, message) = bundle_error(Path::new("/nonexistent/vsrqa-bundle"));
    assert_eq!(path, Path::new("/nonexistent/vsrqa-bundle"));
    assert_mentions(&message, &["does not exist"]);
}

#[test]
fn missing_manifest() {
    let dir = copy_bundle();
    std::fs::remove_file(dir.path().join("vsrqa.json")).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("vsrqa.json"));
    assert_mentions(&message, &["cannot read the manifest"]);
}

#[test]
fn missing_network_file() {
    let dir = copy_bundle();
    std::fs::remove_file(dir.path().join("slowfast.onnx")).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("slowfast.onnx"));
    assert_mentions(&message, &["branch 'slowfast'", "cannot read"]);
}

#[test]
fn missing_head_weights() {
    let dir = copy_bundle();
    std::fs::remove_file(dir.path().join("head.safetensors")).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("head.safetensors"));
    assert_mentions(&message, &["head weights"]);
}

/// A bundle error that another library or the system reported keeps it as its source, so that a
/// caller can tell a missing file from a damaged one without reading the text.
#[test]
fn bundle_errors_keep_their_cause() {
    use std::error::Error as _;
    let dir = copy_bundle();
    std::fs::remove_file(dir.path().join("head.safetensors")).unwrap();
    let error = Bundle::load(dir.path()).unwrap_err();
    assert_eq!(error.kind(), vsrqa::ErrorKind::Bundle);
    let io = error.source().and_then(|cause| cause.downcast_ref::<std::io::Error>());
    assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound), "{error:?}");

    std::fs::write(dir.path().join("head.safetensors"), b"not safetensors").unwrap();
    let error = Bundle::load(dir.path()).unwrap_err();
    let head = error.source().and_then(|cause| cause.downcast_ref::<vsrqa::bundle::HeadError>());
    assert!(matches!(head, Some(vsrqa::bundle::HeadError::NotSafetensors(_))), "{error:?}");
    // The chain goes on to the safetensors crate's own error.
    assert!(head.unwrap().source().is_some(), "{error:?}");

    // A manifest error found by vsrqa itself has no cause beyond the text.
    edit_manifest(dir.path(), |m| m["head"]["layers"] = serde_json::json!([]));
    let error = Bundle::load(dir.path()).unwrap_err();
    assert!(error.source().is_none(), "{error:?}");
}

#[test]
fn head_errors_name_the_layer_and_tensor() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| m["head"]["layers"][0]["bias"] = "no.such.bias".into());
    let error = Bundle::load(dir.path()).unwrap_err();
    let head = std::error::Error::source(&error).and_then(|cause| cause.downcast_ref::<vsrqa::bundle::HeadError>());
    match head {
        Some(vsrqa::bundle::HeadError::Tensor { layer: 0, name, problem: vsrqa::bundle::TensorProblem::Missing }) => {
            assert_eq!(name, "no.such.bias")
        }
        other => panic!("expected a missing tensor of layer 0, got {other:?} ({error})"),
    }
    assert_mentions(&error.to_string(), &["layer 0", "\"no.such.bias\" is missing"]);
}

#[test]
fn bad_json() {
    let dir = copy_bundle();
    std::fs::write(dir.path().join("vsrqa.json"), "{ \"format\": \"vsrqa-bundle\", ").unwrap();
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["not valid JSON", "line"]);
}

#[test]
fn not_a_vsrqa_manifest() {
    let dir = copy_bundle();
    std::fs::write(dir.path().join("vsrqa.json"), "{\"hello\": 1}").unwrap();
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["\"format\""]);
}

#[test]
fn unknown_version() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| m["version"] = 7.into());
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["version 7 is not supported", "reads version 1"]);
}

#[test]
fn unknown_field_is_a_typo_not_a_default() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| m["head"]["temporal_poling"] = "mean".into());
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["temporal_poling"]);
}

#[test]
fn normalize_constants_that_overflow_float32() {
    // JSON numbers beyond f32's range become infinite: the branch would compute NaN features.
    let dir = copy_bundle();
    let normalize = |m: &mut serde_json::Value| -> usize {
        let ops = m["branches"][3]["preprocess"].as_array().unwrap();
        ops.iter().position(|op| op["op"] == "normalize").unwrap()
    };
    edit_manifest(dir.path(), |m| {
        let i = normalize(m);
        m["branches"][3]["preprocess"][i]["mean"][1] = serde_json::json!(-1.6e65);
    });
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["branch 'liqe'", "normalize has a non-finite mean"]);
    edit_manifest(dir.path(), |m| {
        let i = normalize(m);
        m["branches"][3]["preprocess"][i]["mean"][1] = serde_json::json!(0.5);
        m["branches"][3]["preprocess"][i]["std"][0] = serde_json::json!(1e300);
    });
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["branch 'liqe'", "zero or non-finite std"]);
}

#[test]
fn dims_that_do_not_add_up() {
    let dir = copy_bundle();
    let mut dims = branch_dims(&tiny_manifest());
    dims[1].1 += 1;
    edit_manifest(dir.path(), |m| m["branches"][1]["output_dim"] = dims[1].1.into());
    let (_, message) = bundle_error(dir.path());
    let total: u64 = dims.iter().map(|(_, dim)| dim).sum();
    let terms = dims.iter().map(|(name, dim)| format!("{name} {dim}")).collect::<Vec<_>>().join(" + ");
    let (total_text, input_text) = (format!("add up to {total}"), format!("input_dim is {}", total - 1));
    assert_mentions(&message, &[&total_text, &terms, &input_text]);
}

#[test]
fn network_output_that_disagrees_with_the_manifest_is_caught_when_scoring() {
    // Dims that add up but lie about one network: 16 + 64 declared as 12 + 68.
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| {
        m["branches"][0]["output_dim"] = 12.into();
        m["branches"][1]["output_dim"] = 68.into();
    });
    let engine = Engine::new(dir.path(), EngineOptions::default()).unwrap();
    let frame = vec![128u8; 64 * 64 * 3];
    let view = vsrqa::frame::FrameView::packed(vsrqa::frame::PixelFormat::Rgb24, 64, 64, &frame).unwrap();
    match engine.score_frame(view) {
        Err(Error::Backend(message)) => assert_mentions(&message, &["branch 'spatial'", "[1, 12]"]),
        other => panic!("expected a backend error, got {other:?}"),
    }
    // In a session the failure stops the stream: later calls say why instead of going on.
    let mut session = engine.session(25.0).unwrap();
    assert!(matches!(session.push(view), Err(Error::Backend(_))));
    assert!(session.failure().is_some_and(|e| e.to_string().contains("branch 'spatial'")));
    match session.push(view) {
        Err(Error::Backend(message)) => assert_mentions(&message, &["stopped after an earlier error"]),
        other => panic!("expected the stopped-session error, got {other:?}"),
    }
    assert!(session.finish().is_err());
    assert_eq!(session.poll(), None);
}

#[test]
fn onnx_that_does_not_load() {
    let dir = copy_bundle();
    std::fs::write(dir.path().join("spatial.onnx"), b"this is not protobuf").unwrap();
    edit_manifest(dir.path(), |m| m["branches"][0]["sha256"] = serde_json::Value::Null);
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("spatial.onnx"));
    assert_mentions(&message, &["not a loadable ONNX network"]);
    assert_onnxruntime_mentions(dir.path(), &["not a loadable ONNX network"]);
}

#[test]
fn onnx_whose_input_disagrees_with_the_manifest() {
    let dir = copy_bundle();
    // The SlowFast network as the spatial branch: rank 5 where the manifest implies rank 4.
    std::fs::copy(dir.path().join("slowfast.onnx"), dir.path().join("spatial.onnx")).unwrap();
    edit_manifest(dir.path(), |m| m["branches"][0]["sha256"] = serde_json::Value::Null);
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("spatial.onnx"));
    assert_mentions(&message, &["rank 5"]);
    assert_onnxruntime_mentions(dir.path(), &["rank 5"]);
}

#[test]
fn content_hash_mismatch() {
    let dir = copy_bundle();
    let mut bytes = std::fs::read(dir.path().join("slowfast.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("slowfast.onnx"), bytes).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("slowfast.onnx"));
    assert_mentions(&message, &["SHA-256", "corrupt or was replaced"]);
}

#[test]
fn head_weights_with_the_wrong_shape() {
    let dir = copy_bundle();
    // The manifest now says layer 0 reads quality.1.weight, an [1, 8] tensor.
    edit_manifest(dir.path(), |m| m["head"]["layers"][0]["weight"] = "quality.1.weight".into());
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("head.safetensors"));
    assert_mentions(&message, &["layer 0", "quality.1.weight", "[1, 8]"]);
}

#[test]
fn geometry_that_does_not_reach_the_input_size() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| m["branches"][0]["preprocess"][1]["height"] = 60.into());
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["branch 'spatial'", "64x60", "input is 64x64"]);
}

#[test]
fn window_branch_without_a_window() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| {
        m["branches"][1].as_object_mut().unwrap().remove("window");
    });
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["branch 'slowfast'", "window"]);
}

#[test]
fn eight_bit_resampler_after_a_fractional_resize() {
    let dir = copy_bundle();
    // A torch-bilinear resize leaves fractions; Pillow's resampler is defined on bytes only.
    edit_manifest(dir.path(), |m| {
        let ops = m["branches"][1]["preprocess"].as_array_mut().unwrap();
        ops.insert(0, serde_json::json!({"op": "resize", "height": 70, "width": 70, "interpolation": "bilinear"}));
    });
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["branch 'slowfast'", "preprocess[1]", "pil_bilinear", "8-bit input"]);

    // With round_to_u8 the earlier resize leaves bytes, and the bundle loads.
    edit_manifest(dir.path(), |m| m["branches"][1]["preprocess"][0]["round_to_u8"] = true.into());
    Bundle::load(dir.path()).unwrap();
}

#[test]
fn absurd_counts_and_sizes_are_refused_before_anything_is_allocated() {
    // Found by tests/fuzz.rs: 2^61 frames overflowed the clip sampling arithmetic.
    for (path, value, field) in [
        (&["branches", "4", "clip", "frames"][..], 1u64 << 61, "clip.frames"),
        (&["branches", "1", "window", "frames"][..], 1 << 40, "window.frames"),
        (&["branches", "0", "preprocess", "0", "size"][..], 1 << 40, "preprocess[0] size"),
        (&["key_frames", "count"][..], u64::from(u32::MAX), "key_frames.count"),
        (&["branches", "3", "output_dim"][..], 1 << 40, "output_dim"),
    ] {
        let dir = copy_bundle();
        edit_manifest(dir.path(), |m| {
            let target = path.iter().fold(m, |v, key| match key.parse::<usize>() {
                Ok(i) => &mut v[i],
                Err(_) => &mut v[*key],
            });
            *target = value.into();
        });
        let (_, message) = bundle_error(dir.path());
        assert_mentions(&message, &[field, "above the limit"]);
    }
}

#[test]
fn an_engine_outlives_damage_to_its_bundle_files() {
    // An engine reads everything at creation: corrupting or deleting the files afterwards changes
    // nothing for it, and a new engine on the damaged bundle fails with a clear error.
    let dir = copy_bundle();
    let engine = Engine::new(dir.path(), EngineOptions::default()).unwrap();
    let frame = vec![128u8; 64 * 64 * 3];
    let view = vsrqa::frame::FrameView::packed(vsrqa::frame::PixelFormat::Rgb24, 64, 64, &frame).unwrap();
    let before = engine.score_frame(view).unwrap();
    std::fs::write(dir.path().join("spatial.onnx"), b"not a network any more").unwrap();
    std::fs::remove_file(dir.path().join("head.safetensors")).unwrap();
    assert_eq!(engine.score_frame(view).unwrap(), before);
    let (path, message) = bundle_error(dir.path());
    assert!(path.ends_with("spatial.onnx") || path.ends_with("head.safetensors"), "{path:?}: {message}");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    assert_eq!(engine.score_frame(view).unwrap(), before);
    assert!(Bundle::load(dir.path()).is_err());
}

// ---- provenance (docs/bundle.md, "Provenance") ----

const BRANCHES: [&str; 5] = ["spatial", "slowfast", "qalign", "liqe", "fastvqa"];

fn checkpoint_origin(file: &str) -> serde_json::Value {
    serde_json::json!({ "source": "checkpoint", "file": file, "sha256": "0123456789abcdef".repeat(4) })
}

/// The tiny bundle's networks as if converted from checkpoints, the head trained on a bank.
fn recorded_provenance() -> serde_json::Value {
    let branches: serde_json::Map<String, serde_json::Value> =
        BRANCHES.iter().map(|name| (name.to_string(), checkpoint_origin(&format!("{name}.pth")))).collect();
    let head = serde_json::json!({ "source": "trained", "bank_fingerprint": "f".repeat(64),
                                   "train_videos": 32, "validation_videos": 8,
                                   "validation_metrics": { "srcc": 0.9, "plcc": 0.91 } });
    serde_json::json!({ "branches": branches, "head": head })
}

#[test]
fn the_tiny_bundle_warns_that_every_part_is_random() {
    let warning = Bundle::load(tiny_bundle()).unwrap().provenance_warning().unwrap();
    assert_eq!(
        warning,
        "bundle 'tiny-full': the spatial, slowfast, qalign, liqe and fastvqa networks and the head have random \
         weights: its scores say nothing about quality"
    );
}

#[test]
fn a_bundle_without_provenance_loads_and_warns_that_it_is_not_recorded() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| {
        m.as_object_mut().unwrap().remove("provenance").unwrap();
    });
    let bundle = Bundle::load(dir.path()).unwrap();
    assert_eq!(bundle.manifest.provenance, None);
    let warning = bundle.provenance_warning().unwrap();
    assert_mentions(
        &warning,
        &["the spatial, slowfast, qalign, liqe and fastvqa networks and the head", "do not record where"],
    );
    assert!(!warning.contains("random"), "{warning}");
}

#[test]
fn recorded_checkpoints_and_training_give_no_warning() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| m["provenance"] = recorded_provenance());
    let bundle = Bundle::load(dir.path()).unwrap();
    assert_eq!(bundle.provenance_warning(), None);
    assert_eq!(bundle.manifest.branch_origin("liqe").unwrap().file.as_deref(), Some("liqe.pth"));
    assert_eq!(bundle.manifest.head_origin().unwrap().validation_metrics["srcc"], 0.9);
}

#[test]
fn the_warning_names_only_the_random_and_unrecorded_parts() {
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| {
        let mut provenance = recorded_provenance();
        provenance["branches"]["slowfast"] = serde_json::json!({ "source": "random" });
        provenance["branches"].as_object_mut().unwrap().remove("fastvqa");
        provenance.as_object_mut().unwrap().remove("head");
        m["provenance"] = provenance;
    });
    let warning = Bundle::load(dir.path()).unwrap().provenance_warning().unwrap();
    assert_eq!(
        warning,
        "bundle 'tiny-full': the slowfast network has random weights, and the fastvqa network and the head do \
         not record where their weights came from: its scores say nothing about quality"
    );
}

#[test]
fn invalid_provenance_is_a_bundle_error_naming_the_part() {
    let cases: [(&str, serde_json::Value, &[&str]); 7] = [
        (
            "spatial",
            serde_json::json!({ "source": "checkpoint", "file": "RQ-VQA.pth" }),
            &["provenance.branches.spatial", "\"checkpoint\" needs \"sha256\""],
        ),
        (
            "liqe",
            serde_json::json!({ "source": "checkpoint", "file": "LIQE.pt", "sha256": "12ab" }),
            &["provenance.branches.liqe", "\"sha256\" is \"12ab\"", "64 hex digits"],
        ),
        (
            "liqe",
            serde_json::json!({ "source": "checkpoint", "file": "LIQE.pt", "sha256": "z".repeat(64) }),
            &["provenance.branches.liqe", "64 hex digits"],
        ),
        (
            "slowfast",
            serde_json::json!({ "source": "random", "sha256": "a".repeat(64) }),
            &["provenance.branches.slowfast", "\"random\" takes no \"sha256\""],
        ),
        ("qalign", serde_json::json!({ "source": "trained" }), &["provenance.branches.qalign", "\"bank_fingerprint\""]),
        ("spatial", serde_json::json!({ "source": "downloaded" }), &["downloaded", "random", "checkpoint", "trained"]),
        ("spatail", serde_json::json!({ "source": "random" }), &["provenance.branches.spatail", "no branch named"]),
    ];
    for (branch, origin, words) in cases {
        let dir = copy_bundle();
        edit_manifest(dir.path(), |m| m["provenance"]["branches"][branch] = origin.clone());
        let (path, message) = bundle_error(dir.path());
        assert_eq!(path, dir.path().join("vsrqa.json"));
        assert_mentions(&message, words);
    }
    let dir = copy_bundle();
    edit_manifest(dir.path(), |m| {
        m["provenance"]["head"] = serde_json::json!({ "source": "trained", "bank_fingerprint": "0" })
    });
    let (_, message) = bundle_error(dir.path());
    assert_mentions(&message, &["provenance.head", "\"bank_fingerprint\" is \"0\""]);
}
