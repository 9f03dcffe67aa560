//! The model bundle on disk: a directory with `vsrqa.json`, one ONNX file per branch and the
//! head's safetensors. [`Bundle::load`] validates everything it can without running a network
//! and names the file and field at fault; the backend then reports ONNX files that do not load.

internal_mod!(head);
mod manifest;
mod provenance;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::frame::MAX_DIMENSION;
pub use crate::hash::{sha256_file, sha256_hex};
pub use head::Head;
pub use manifest::*;
pub use provenance::{Origin, Provenance};

pub const MANIFEST_FILE: &str = "vsrqa.json";

/// A validated bundle: the manifest, each branch's network file with its content hash, and the
/// head with its weights.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub networks: Vec<NetworkFile>,
    pub head: Head,
}

#[derive(Clone, Debug)]
pub struct NetworkFile {
    pub path: PathBuf,
    /// Hex SHA-256 of the file: the content hash engine caches are keyed on.
    pub sha256: String,
}

impl Bundle {
    pub fn load(dir: impl AsRef<Path>) -> Result<Bundle> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            let what = if dir.exists() { "is not a directory" } else { "does not exist" };
            return Err(Error::bundle(&dir, format!("the bundle directory {what}")));
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| Error::bundle(&manifest_path, format!("cannot read the manifest: {e}")))?;
        let manifest = Manifest::from_json(&text, &manifest_path)?;

        let mut networks = Vec::with_capacity(manifest.branches.len());
        for branch in &manifest.branches {
            let path = dir.join(&branch.network);
            let sha256 = sha256_file(&path)
                .map_err(|e| Error::bundle(&path, format!("branch '{}': cannot read its network: {e}", branch.name)))?;
            if let Some(expected) = &branch.sha256 {
                if !expected.eq_ignore_ascii_case(&sha256) {
                    return Err(Error::bundle(
                        &path,
                        format!("branch '{}': SHA-256 is {sha256}, the manifest says {expected}: the file is corrupt or was replaced", branch.name),
                    ));
                }
            }
            networks.push(NetworkFile { path, sha256 });
        }

        let head_path = dir.join(&manifest.head.weights);
        let weights = std::fs::read(&head_path)
            .map_err(|e| Error::bundle(&head_path, format!("cannot read the head weights: {e}")))?;
        let head =
            Head::from_safetensors(&manifest.head, &weights).map_err(|message| Error::bundle(&head_path, message))?;

        Ok(Bundle { dir, manifest, networks, head })
    }

    /// The warning that parts of the bundle have random weights or do not record where their
    /// weights came from, naming them; `None` when every part is trained or from a checkpoint.
    pub fn provenance_warning(&self) -> Option<String> {
        self.manifest.provenance_warning()
    }

    /// Length of the head's input: the branches' feature dims, concatenated in order.
    pub fn feature_dim(&self) -> usize {
        self.manifest.branches.iter().map(|b| b.output_dim).sum()
    }
}

impl Manifest {
    /// Parses and validates a manifest's text without its files (e.g. one read from a bundle
    /// archive); `path` names it in the error. [`Bundle::load`] does this, then checks the files.
    pub fn from_json(text: &str, path: &Path) -> Result<Manifest> {
        let manifest = parse_manifest(text).map_err(|message| Error::bundle(path, message))?;
        validate_manifest(&manifest).map_err(|message| Error::bundle(path, message))?;
        Ok(manifest)
    }

    /// The files the manifest names, relative to the bundle directory: each branch's network, then
    /// the head's weights.
    pub fn files(&self) -> Vec<&str> {
        let networks = self.branches.iter().map(|branch| branch.network.as_str());
        networks.chain(std::iter::once(self.head.weights.as_str())).collect()
    }
}

/// Checks the format tag and version first, so that a bundle from a newer vsrqa gets a message
/// about the version rather than about a field this build does not know.
fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT_TAG) => {}
        Some(other) => return Err(format!("\"format\" is \"{other}\", expected \"{FORMAT_TAG}\"")),
        None => return Err(format!("no \"format\": \"{FORMAT_TAG}\" field: is this a vsrqa bundle?")),
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "manifest version {v} is not supported: this vsrqa {} reads version {FORMAT_VERSION}",
                crate::VERSION
            ))
        }
        None => return Err("no numeric \"version\" field".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("invalid manifest: {e}"))
}

/// Upper bounds on the manifest's counts and sizes. Far above any real bundle; they keep a damaged
/// or hostile manifest from asking for absurd allocations or overflowing arithmetic.
const MAX_KEY_FRAMES: u32 = 1 << 16;
const MAX_FRAMES_PER_SAMPLE: usize = 4096;
const MAX_IMAGES_PER_FRAME: usize = 4096;
const MAX_FEATURES: usize = 1 << 20;

/// Checks one count or size field against its bound.
fn bounded(what: &str, value: usize, max: usize) -> Result<(), String> {
    if value > max {
        return Err(format!("{what} = {value} is above the limit of {max}"));
    }
    Ok(())
}

fn validate_manifest(manifest: &Manifest) -> Result<(), String> {
    if manifest.branches.is_empty() {
        return Err("\"branches\" is empty: a bundle needs at least one feature branch".into());
    }
    if manifest.key_frames.count == Some(0) {
        return Err("\"key_frames.count\" is 0: use null to pool every key frame".into());
    }
    if let Some(count) = manifest.key_frames.count {
        bounded("key_frames.count", count as usize, MAX_KEY_FRAMES as usize)?;
    }
    bounded("head.input_dim", manifest.head.input_dim, MAX_FEATURES)?;
    let mut names = HashSet::new();
    for branch in &manifest.branches {
        let name = &branch.name;
        let valid_name =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(format!("branch name \"{name}\" must be non-empty [a-z0-9_]"));
        }
        if !names.insert(name.as_str()) {
            return Err(format!("two branches are named \"{name}\""));
        }
        validate_branch(branch).map_err(|e| format!("branch '{name}': {e}"))?;
    }
    // Each output_dim is bounded by validate_branch, so the sum cannot overflow.
    let total: usize = manifest.branches.iter().map(|b| b.output_dim).sum();
    if total != manifest.head.input_dim {
        let dims: Vec<String> = manifest.branches.iter().map(|b| format!("{} {}", b.name, b.output_dim)).collect();
        return Err(format!(
            "the branch feature dims add up to {total} ({}) but head.input_dim is {}",
            dims.join(" + "),
            manifest.head.input_dim
        ));
    }
    if manifest.head.layers.is_empty() {
        return Err("head.layers is empty".into());
    }
    if let Some(provenance) = &manifest.provenance {
        provenance.validate(manifest.branches.iter().map(|b| b.name.as_str()))?;
    }
    Ok(())
}

fn validate_branch(branch: &BranchSpec) -> Result<(), String> {
    match (branch.scope, branch.window) {
        (Scope::Window, None) => return Err("scope \"window\" needs \"window\": {\"frames\": T}".into()),
        (Scope::Window, Some(Window { frames: 0, .. })) => return Err("window.frames must be at least 1".into()),
        (Scope::KeyFrame | Scope::Clip, Some(_)) => {
            return Err("\"window\" is only meaningful with scope \"window\"".into())
        }
        _ => {}
    }
    match (branch.scope, branch.clip) {
        (Scope::Clip, None) => {
            return Err("scope \"clip\" needs \"clip\": {\"segments\": S, \"frames\": T, \"interval\": I}".into())
        }
        (Scope::Clip, Some(c)) if c.segments == 0 || c.frames == 0 || c.interval == 0 => {
            return Err("clip.segments, clip.frames and clip.interval must be at least 1".into())
        }
        (Scope::KeyFrame | Scope::Window, Some(_)) => {
            return Err("\"clip\" is only meaningful with scope \"clip\"".into())
        }
        _ => {}
    }
    if branch.output_dim == 0 {
        return Err("output_dim must be at least 1".into());
    }
    bounded("output_dim", branch.output_dim, MAX_FEATURES)?;
    if let Some(window) = branch.window {
        bounded("window.frames", window.frames, MAX_FRAMES_PER_SAMPLE)?;
    }
    if let Some(clip) = branch.clip {
        bounded("clip.frames", clip.frames, MAX_FRAMES_PER_SAMPLE)?;
        bounded("clip.interval", clip.interval, MAX_FRAMES_PER_SAMPLE)?;
        bounded("clip.segments x clip.frames", clip.segments.saturating_mul(clip.frames), MAX_FRAMES_PER_SAMPLE)?;
    }
    let dimension = MAX_DIMENSION as usize;
    bounded("input.height", branch.input.height, dimension)?;
    bounded("input.width", branch.input.width, dimension)?;
    for (i, op) in branch.preprocess.iter().enumerate() {
        let at = |field: &str| format!("preprocess[{i}] {field}");
        match *op {
            PreprocessOp::Resize { height, width, .. } | PreprocessOp::CenterCrop { height, width } => {
                bounded(&at("height"), height, dimension)?;
                bounded(&at("width"), width, dimension)?;
            }
            PreprocessOp::ResizeShortSide { size, .. } => bounded(&at("size"), size, dimension)?,
            PreprocessOp::PatchGrid { size, stride, count } => {
                bounded(&at("size"), size, dimension)?;
                bounded(&at("stride"), stride, dimension)?;
                bounded(&at("count"), count, MAX_IMAGES_PER_FRAME)?;
            }
            PreprocessOp::Fragments { grid, size } => {
                bounded(&at("grid x size"), grid.saturating_mul(size), dimension)?
            }
            PreprocessOp::SplitHalves | PreprocessOp::ExpandToSquare { .. } | PreprocessOp::Normalize { .. } => {}
        }
    }
    let InputGeometry { height, width } = branch.input;
    if height == 0 || width == 0 {
        return Err(format!("input geometry {width}x{height} is empty"));
    }
    // The geometry after the last op must be fixed (not depend on the frame) and match `input`.
    let mut fixed: Option<(usize, usize)> = None;
    // Whether the image still holds bytes: 8-bit resamplers must come before any op that
    // produces fractions.
    let mut bytes = true;
    let splits =
        branch.preprocess.iter().filter(|op| matches!(op, PreprocessOp::SplitHalves | PreprocessOp::PatchGrid { .. }));
    if splits.count() > 1 {
        return Err("preprocess may split a frame once (one patch_grid or split_halves)".into());
    }
    for (i, op) in branch.preprocess.iter().enumerate() {
        let last = i + 1 == branch.preprocess.len();
        if let PreprocessOp::Resize { interpolation, round_to_u8, .. }
        | PreprocessOp::ResizeShortSide { interpolation, round_to_u8, .. } = *op
        {
            if interpolation.needs_bytes() && !bytes {
                return Err(format!(
                    "preprocess[{i}] uses {} on an image an earlier resize left with fractions: it needs 8-bit input \
                     (set round_to_u8 on the earlier resize, or reorder)",
                    serde_json::to_string(&interpolation).unwrap_or_default()
                ));
            }
            bytes = interpolation.needs_bytes() || round_to_u8;
        }
        match *op {
            PreprocessOp::Resize { height, width, .. } | PreprocessOp::CenterCrop { height, width } => {
                if height == 0 || width == 0 {
                    return Err(format!("preprocess[{i}] has an empty size {width}x{height}"));
                }
                if let (PreprocessOp::CenterCrop { .. }, Some((h, w))) = (op, fixed) {
                    if height > h || width > w {
                        return Err(format!("preprocess[{i}] crops {width}x{height} out of a {w}x{h} image"));
                    }
                }
                fixed = Some((height, width));
            }
            PreprocessOp::ResizeShortSide { size, .. } => {
                if size == 0 {
                    return Err(format!("preprocess[{i}] resizes the short side to 0"));
                }
                fixed = None;
            }
            PreprocessOp::SplitHalves | PreprocessOp::ExpandToSquare { .. } => {
                if branch.scope != Scope::KeyFrame {
                    return Err(format!("preprocess[{i}] split_halves and expand_to_square need scope \"key_frame\""));
                }
                fixed = None;
            }
            PreprocessOp::Fragments { grid, size } => {
                if grid == 0 || size == 0 {
                    return Err(format!("preprocess[{i}] fragments needs a positive grid and size"));
                }
                if !bytes {
                    return Err(format!(
                        "preprocess[{i}] fragments needs 8-bit input (an earlier resize left fractions)"
                    ));
                }
                fixed = Some((grid * size, grid * size));
            }
            PreprocessOp::PatchGrid { size, stride, count } => {
                if size == 0 || stride == 0 || count == 0 {
                    return Err(format!("preprocess[{i}] patch_grid needs a positive size, stride and count"));
                }
                let next_is_normalize = matches!(branch.preprocess.get(i + 1), Some(PreprocessOp::Normalize { .. }));
                if !next_is_normalize {
                    return Err(format!("preprocess[{i}] patch_grid must come right before normalize"));
                }
                if branch.scope != Scope::KeyFrame {
                    return Err(format!("preprocess[{i}] patch_grid needs scope \"key_frame\""));
                }
                fixed = Some((size, size));
            }
            PreprocessOp::Normalize { mean, std, range } => {
                if range != 1.0 && range != 255.0 {
                    return Err(format!("preprocess[{i}] normalize range must be 1 or 255, not {range}"));
                }
                if branch.scope == Scope::Clip && !bytes {
                    // Clip branches keep every frame until the clip ends: as bytes, 4x smaller.
                    return Err(format!(
                        "preprocess[{i}]: a clip branch's image must still be 8-bit before normalize (use round_to_u8)"
                    ));
                }
                if !last {
                    return Err(format!("preprocess[{i}] normalize must be the last op"));
                }
                if std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
                    return Err(format!("preprocess[{i}] normalize has a zero or non-finite std"));
                }
                if mean.iter().any(|m| !m.is_finite()) {
                    return Err(format!("preprocess[{i}] normalize has a non-finite mean"));
                }
            }
        }
    }
    if !matches!(branch.preprocess.last(), Some(PreprocessOp::Normalize { .. })) {
        return Err("preprocess must end with a normalize op".into());
    }
    match fixed {
        Some(size) if size == (height, width) => Ok(()),
        Some((h, w)) => Err(format!("preprocess produces {w}x{h} but input is {width}x{height}")),
        None => {
            Err("the preprocessed size depends on the frame: end the geometric ops with resize or center_crop".into())
        }
    }
}
