//! Ensemble bundles (docs/bundle.md, "Ensembles"): members with their own head weights and their
//! own spatial network over shared branches. An ensemble scores the mean of its members, each
//! scored as a bundle of its own, as RQ-VQA's test.py averages its ten models' predictions. The
//! ensembles here are made from the tiny bundle: copies of its spatial network (loaded as each
//! member's own) and heads of other weights.

use std::path::Path;

use safetensors::{serialize, tensor::TensorView, Dtype, SafeTensors};
use vsrqa::frame::{FrameView, PixelFormat};
use vsrqa::{ClipScore, Engine, EngineOptions, Error, FrameScore};
use vsrqa_testkit::{copy_of, sample_clip, tiny_bundle};

/// Exact up to the last bits of the mean's arithmetic: the same features, heads and order of sums.
const TOLERANCE: f64 = 1e-12;

/// The tiny bundle's head weights with each tensor rewritten by `rewrite` (its name, shape and
/// f32 values in, its shape and values out), as safetensors bytes.
fn rewritten_head(dir: &Path, rewrite: impl Fn(&str, &[usize], Vec<f32>) -> (Vec<usize>, Vec<f32>)) -> Vec<u8> {
    let bytes = std::fs::read(dir.join("head.safetensors")).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let changed: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let (shape, values) = rewrite(&name, view.shape(), values);
            (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = changed
        .iter()
        .map(|(name, shape, bytes)| (name.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap()))
        .collect();
    serialize(views, &None).unwrap()
}

/// The tiny bundle's head weights with every value scaled by `scale` and shifted by `shift`.
fn head_variant(dir: &Path, scale: f32, shift: f32) -> Vec<u8> {
    rewritten_head(dir, |_, shape, values| (shape.to_vec(), values.iter().map(|v| v * scale + shift).collect()))
}

/// The tiny bundle's head with its first layer widened (or narrowed) to `width` inputs.
fn head_of_width(dir: &Path, width: usize) -> Vec<u8> {
    rewritten_head(dir, |name, shape, values| match name {
        "quality.0.weight" => (vec![shape[0], width], vec![0.0; shape[0] * width]),
        _ => (shape.to_vec(), values),
    })
}

const VARIANTS: [(f32, f32); 3] = [(1.0, 0.0), (0.5, 0.01), (-0.8, -0.02)];

/// The tiny bundle made an ensemble of three members: m0 the bundle's own files, m1 and m2 their
/// own head weights, and m1 its own (copied) spatial network.
fn ensemble() -> tempfile::TempDir {
    let dir = copy_of(&tiny_bundle());
    for (m, &(scale, shift)) in VARIANTS.iter().enumerate().skip(1) {
        std::fs::write(dir.path().join(format!("head_m{m}.safetensors")), head_variant(dir.path(), scale, shift))
            .unwrap();
    }
    std::fs::copy(dir.path().join("spatial.onnx"), dir.path().join("spatial_m1.onnx")).unwrap();
    edit_manifest(dir.path(), |m| {
        m["members"] = serde_json::json!([
            { "name": "m0" },
            { "name": "m1", "networks": { "spatial": { "network": "spatial_m1.onnx" } },
              "head_weights": "head_m1.safetensors" },
            { "name": "m2", "head_weights": "head_m2.safetensors" },
        ])
    });
    dir
}

/// Member `m` as a plain bundle: the tiny bundle with that member's head weights.
fn member_alone(m: usize) -> tempfile::TempDir {
    let dir = copy_of(&tiny_bundle());
    let (scale, shift) = VARIANTS[m];
    std::fs::write(dir.path().join("head.safetensors"), head_variant(dir.path(), scale, shift)).unwrap();
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("vsrqa.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

fn engine(bundle: &Path) -> Engine {
    engine_with(bundle, None).unwrap_or_else(|e| panic!("{}: {e}", bundle.display()))
}

fn engine_error(bundle: &Path, members: &[&str]) -> Error {
    match engine_with(bundle, Some(members)) {
        Err(error) => error,
        Ok(_) => panic!("members {members:?} were taken"),
    }
}

fn engine_with(bundle: &Path, members: Option<&[&str]>) -> vsrqa::Result<Engine> {
    let members = members.map(|names| names.iter().map(|name| name.to_string()).collect());
    Engine::new(bundle, EngineOptions { backend: vsrqa::backend::BackendKind::Cpu, members, ..Default::default() })
}

/// The sample clip's key-frame scores and clip score on the CPU backend.
fn score(bundle: &Path) -> (Vec<FrameScore>, ClipScore) {
    score_on(&engine(bundle))
}

fn score_on(engine: &Engine) -> (Vec<FrameScore>, ClipScore) {
    let clip = sample_clip();
    let mut session = engine.session(clip.fps).unwrap();
    let mut frames = Vec::new();
    for pixels in &clip.frames {
        session.push(FrameView::packed(PixelFormat::I420, clip.width, clip.height, pixels).unwrap()).unwrap();
        frames.extend(std::iter::from_fn(|| session.poll()));
    }
    let clip_score = session.finish().unwrap();
    frames.extend(std::iter::from_fn(|| session.poll()));
    (frames, clip_score)
}

#[test]
fn an_ensemble_scores_the_mean_of_its_members() {
    let ensemble = ensemble();
    let (frames, clip) = score(ensemble.path());
    let alone: Vec<(Vec<FrameScore>, ClipScore)> = (0..3).map(|m| score(member_alone(m).path())).collect();

    // The members really differ, so that the mean is not any one of them.
    assert!(
        (alone[0].1.score - alone[1].1.score).abs() > 1e-4,
        "{:?}",
        alone.iter().map(|a| a.1.score).collect::<Vec<_>>()
    );
    assert!((alone[0].1.score - alone[2].1.score).abs() > 1e-4);

    let mean = alone.iter().map(|(_, clip)| clip.score).sum::<f64>() / 3.0;
    assert!((clip.score - mean).abs() < TOLERANCE, "ensemble {} against the members' mean {mean}", clip.score);
    // Each member's own clip score is reported, in the bundle's order, with their spread.
    assert_eq!(clip.member_scores.len(), 3);
    for (m, (own, (_, alone))) in clip.member_scores.iter().zip(&alone).enumerate() {
        assert!((own - alone.score).abs() < TOLERANCE, "member {m}: {own} against {}", alone.score);
    }
    let spread = (alone.iter().map(|(_, c)| (c.score - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((clip.member_spread().unwrap() - spread).abs() < TOLERANCE);
    assert!(alone[0].1.member_scores.is_empty() && alone[0].1.member_spread().is_none());
    assert_eq!((clip.frames, clip.key_frames), (alone[0].1.frames, alone[0].1.key_frames));
    assert_eq!(frames.len(), alone[0].0.len());
    for (k, frame) in frames.iter().enumerate() {
        let mean = alone.iter().map(|(frames, _)| frames[k].score).sum::<f64>() / 3.0;
        assert!((frame.score - mean).abs() < TOLERANCE, "key frame {k}: {} against {mean}", frame.score);
        assert_eq!(frame.frame_index, alone[0].0[k].frame_index);
    }
}

/// Scores are the Python reference's (golden_tiny.rs's tolerance): the features differ by about
/// 1e-6 between tract and PyTorch, which two small Linear layers carry into the scores.
const GOLDEN_TOLERANCE: f64 = 1e-6;

/// The committed tiny ensemble (tools/fixtures/make_tiny_ensemble.py: three members, one with its
/// own spatial network) scores as RQ-VQA's test.py averages its models, run by the Python reference
/// on the same frames; each member's own score, a member subset's mean and the members' spread
/// follow from the same goldens.
#[test]
fn the_tiny_ensemble_scores_as_test_py_averages() {
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vsrqa_testkit::data("golden/tiny_ensemble.json")).unwrap())
            .unwrap();
    let bundle = vsrqa_testkit::data("tiny_ensemble");
    let (frames, clip) = score(&bundle);
    assert_eq!(golden["fps"].as_f64().unwrap(), sample_clip().fps);
    let close = |got: f64, expected: &serde_json::Value, what: &str| {
        let expected = expected.as_f64().unwrap();
        assert!((got - expected).abs() <= GOLDEN_TOLERANCE, "{what}: {got} against test.py's {expected}");
    };
    close(clip.score, &golden["clip_score"], "ensemble clip score");
    for (k, frame) in frames.iter().enumerate() {
        close(frame.score, &golden["frame_scores"][k], &format!("key frame {k}"));
    }
    let members = golden["members"].as_array().unwrap();
    assert_eq!(clip.member_scores.len(), members.len());
    for (got, member) in clip.member_scores.iter().zip(members) {
        close(*got, &member["clip_score"], member["name"].as_str().unwrap());
    }
    let expected: Vec<f64> = members.iter().map(|m| m["clip_score"].as_f64().unwrap()).collect();
    let mean = expected.iter().sum::<f64>() / 3.0;
    let spread = (expected.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((clip.member_spread().unwrap() - spread).abs() <= GOLDEN_TOLERANCE);
    // The members differ widely (m1 has its own spatial network): the mean is none of them.
    assert!(spread > 0.1, "{expected:?}");

    let subset = engine_with(&bundle, Some(&["m2", "m1"])).unwrap();
    let (_, chosen) = score_on(&subset);
    assert!((chosen.score - (expected[1] + expected[2]) / 2.0).abs() <= GOLDEN_TOLERANCE, "{}", chosen.score);
}

/// The shared branches run once per clip, as in a plain bundle; each member's own network runs
/// beside the bundle's (the engine's stage counters).
#[test]
fn shared_branches_run_once_and_own_networks_once_each() {
    let calls = |engine: &Engine| -> Vec<(String, u64, u64)> {
        engine.timings().branches.into_iter().map(|b| (b.name, b.preprocess.calls, b.network.calls)).collect()
    };
    let plain = engine(&tiny_bundle());
    score_on(&plain);
    let ensemble_dir = ensemble();
    let ensemble = engine(ensemble_dir.path());
    score_on(&ensemble);
    let mut expected = calls(&plain);
    let spatial = expected.iter().find(|(name, _, _)| name == "spatial").unwrap().2;
    assert!(spatial > 0);
    // The member's own spatial network runs on the input the bundle's spatial branch made.
    expected.push(("spatial.m1".to_owned(), 0, spatial));
    assert_eq!(calls(&ensemble), expected);
}

/// A chosen subset scores the mean of those members alone; the others' networks are not loaded.
#[test]
fn chosen_members_score_their_own_mean() {
    let dir = ensemble();
    let alone: Vec<f64> = (0..3).map(|m| score(member_alone(m).path()).1.score).collect();

    let one = engine_with(dir.path(), Some(&["m1"])).unwrap();
    assert_eq!(one.members(), ["m1"]);
    let (_, one_clip) = score_on(&one);
    assert!((one_clip.score - alone[1]).abs() < TOLERANCE);
    assert_eq!(one_clip.member_scores, [one_clip.score]);
    let two = engine_with(dir.path(), Some(&["m2", "m0"])).unwrap();
    // The bundle's order, whatever the order of the choice.
    assert_eq!(two.members(), ["m0", "m2"]);
    let (_, two_clip) = score_on(&two);
    assert!((two_clip.score - (alone[0] + alone[2]) / 2.0).abs() < TOLERANCE);
    assert!((two_clip.member_scores[1] - alone[2]).abs() < TOLERANCE);
    assert_eq!(engine(dir.path()).members(), ["m0", "m1", "m2"]);
    assert!(engine(&tiny_bundle()).members().is_empty());
    let names: Vec<String> = two.timings().branches.into_iter().map(|b| b.name).collect();
    assert!(!names.iter().any(|name| name == "spatial.m1"), "{names:?}");

    let unknown = engine_error(dir.path(), &["m7"]);
    assert_eq!(unknown.kind(), vsrqa::ErrorKind::InvalidArgument);
    assert!(unknown.to_string().contains("no member 'm7' (its members: m0, m1, m2)"), "{unknown}");
    let none = engine_error(dir.path(), &[]);
    assert!(none.to_string().contains("at least one member"), "{none}");
    let plain = engine_error(&tiny_bundle(), &["m0"]);
    assert!(plain.to_string().contains("not an ensemble"), "{plain}");
}

#[test]
fn an_ensemble_of_one_member_is_the_plain_bundle() {
    let one = copy_of(&tiny_bundle());
    edit_manifest(one.path(), |m| m["members"] = serde_json::json!([{ "name": "only" }]));
    let (frames, clip) = score(one.path());
    let (plain_frames, plain_clip) = score(&tiny_bundle());
    assert_eq!(clip.score.to_bits(), plain_clip.score.to_bits());
    let bits = |frames: &[FrameScore]| frames.iter().map(|f| f.score.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&frames), bits(&plain_frames));
}

/// A broken member is a bundle error that names the member (and the file at fault).
#[test]
fn member_errors_name_the_member() {
    let bundle_error = |dir: &Path| match Engine::new(dir, EngineOptions::default()) {
        Err(Error::Bundle { path, message, .. }) => (path, message),
        Err(other) => panic!("expected a bundle error, got {other}"),
        Ok(_) => panic!("the broken ensemble loaded"),
    };

    let dir = ensemble();
    edit_manifest(dir.path(), |m| {
        m["members"][1]["networks"] = serde_json::json!({ "spatail": { "network": "x.onnx" } })
    });
    let (_, message) = bundle_error(dir.path());
    assert!(message.contains("member 'm1'") && message.contains("\"spatail\", which is not a branch"), "{message}");

    let dir = ensemble();
    edit_manifest(dir.path(), |m| m["members"][2]["name"] = "m1".into());
    let (_, message) = bundle_error(dir.path());
    assert!(message.contains("two members are named \"m1\""), "{message}");

    // A member's head without a tensor the head's layers name.
    let dir = ensemble();
    let bytes = std::fs::read(dir.path().join("head_m2.safetensors")).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let first: Vec<(String, TensorView<'_>)> =
        tensors.tensors().into_iter().filter(|(name, _)| !name.starts_with("quality.0.weight")).collect();
    std::fs::write(dir.path().join("head_m2.safetensors"), serialize(first, &None).unwrap()).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("head_m2.safetensors"));
    assert!(message.contains("member 'm2'") && message.contains("quality.0.weight"), "{message}");

    // Members that disagree in feature width: a head over another width, a network of another.
    let dir = ensemble();
    std::fs::write(dir.path().join("head_m2.safetensors"), head_of_width(dir.path(), 700)).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("head_m2.safetensors"));
    assert!(message.contains("member 'm2'") && message.contains("671"), "{message}");
    let dir = ensemble();
    std::fs::copy(dir.path().join("slowfast.onnx"), dir.path().join("spatial_m1.onnx")).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("spatial_m1.onnx"));
    assert!(message.contains("member 'm1'") && message.contains("rank 5"), "{message}");

    // A member's own network that is missing.
    let dir = ensemble();
    std::fs::remove_file(dir.path().join("spatial_m1.onnx")).unwrap();
    let (path, message) = bundle_error(dir.path());
    assert_eq!(path, dir.path().join("spatial_m1.onnx"));
    assert!(message.contains("member 'm1'") && message.contains("branch 'spatial'"), "{message}");
}
