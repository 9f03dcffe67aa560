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
use crate::preprocess::{check_list, ListRules};
pub use crate::preprocess::{
    CenterCrop, ExpandToSquare, Fragments, Interpolation, Normalize, PatchGrid, Resize, ResizeShortSide, SplitHalves,
};
pub use head::{Head, HeadError, TensorProblem};
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
    /// An ensemble's members, loaded (`manifest.members`); empty for one model.
    pub members: Vec<LoadedMember>,
}

/// An ensemble member's own files, loaded and checked.
#[derive(Clone, Debug)]
pub struct LoadedMember {
    pub name: String,
    /// The member's own network for each branch it replaces: (index in `manifest.branches`, file).
    pub networks: Vec<(usize, NetworkFile)>,
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
            .map_err(|e| Error::bundle_caused(&manifest_path, format!("cannot read the manifest: {e}"), e))?;
        let manifest = Manifest::from_json(&text, &manifest_path)?;

        let mut networks = Vec::with_capacity(manifest.branches.len());
        for branch in &manifest.branches {
            networks.push(network_file(&dir, &branch.name, &branch.network, branch.sha256.as_deref())?);
        }
        let head = load_head(&dir, &manifest.head, &manifest.head.weights)?;
        let mut members = Vec::with_capacity(manifest.members.len());
        for member in &manifest.members {
            let context = format!("member '{}'", member.name);
            let named = |e: Error| e.in_bundle_context(&context);
            let mut own = Vec::with_capacity(member.networks.len());
            for (name, file) in &member.networks {
                // Validation checked that every name is a branch's.
                let index = manifest.branches.iter().position(|b| &b.name == name).unwrap_or_default();
                own.push((index, network_file(&dir, name, &file.network, file.sha256.as_deref()).map_err(named)?));
            }
            let head = match &member.head_weights {
                Some(weights) => load_head(&dir, &manifest.head, weights).map_err(named)?,
                None => head.clone(),
            };
            members.push(LoadedMember { name: member.name.clone(), networks: own, head });
        }
        Ok(Bundle { dir, manifest, networks, head, members })
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

/// A branch's network file with its content hash, checked against the manifest's when it has one.
fn network_file(dir: &Path, branch: &str, network: &str, expected: Option<&str>) -> Result<NetworkFile> {
    let path = dir.join(network);
    let sha256 = sha256_file(&path)
        .map_err(|e| Error::bundle_caused(&path, format!("branch '{branch}': cannot read its network: {e}"), e))?;
    if let Some(expected) = expected {
        if !expected.eq_ignore_ascii_case(&sha256) {
            return Err(Error::bundle(
                &path,
                format!("branch '{branch}': SHA-256 is {sha256}, the manifest says {expected}: the file is corrupt or was replaced"),
            ));
        }
    }
    Ok(NetworkFile { path, sha256 })
}

/// The head `spec` describes, with the weights in `weights` (relative to the bundle).
fn load_head(dir: &Path, spec: &HeadSpec, weights: &str) -> Result<Head> {
    let path = dir.join(weights);
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::bundle_caused(&path, format!("cannot read the head weights: {e}"), e))?;
    Head::from_safetensors(spec, &bytes).map_err(|e| Error::bundle_caused(&path, e.to_string(), e))
}

impl Manifest {
    /// Parses and validates a manifest's text without its files (e.g. one read from a bundle
    /// archive); `path` names it in the error. [`Bundle::load`] does this, then checks the files.
    pub fn from_json(text: &str, path: &Path) -> Result<Manifest> {
        let manifest = parse_manifest(text, path)?;
        validate_manifest(&manifest, path)?;
        Ok(manifest)
    }

    /// The files the manifest names, relative to the bundle directory: each branch's network, the
    /// head's weights, then each ensemble member's own files.
    pub fn files(&self) -> Vec<&str> {
        let networks = self.branches.iter().map(|branch| branch.network.as_str());
        let mut files: Vec<&str> = networks.chain(std::iter::once(self.head.weights.as_str())).collect();
        for member in &self.members {
            files.extend(member.networks.values().map(|own| own.network.as_str()));
            files.extend(member.head_weights.as_deref());
        }
        // Each once, in order (a member may name the bundle's own head weights).
        let mut seen = HashSet::new();
        files.retain(|file| seen.insert(*file));
        files
    }
}

/// Checks the format tag and version first, so that a bundle from a newer vsrqa gets a message
/// about the version rather than about a field this build does not know.
fn parse_manifest(text: &str, path: &Path) -> Result<Manifest> {
    let invalid = |message: String| Error::bundle(path, message);
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::bundle_caused(path, format!("not valid JSON: {e}"), e))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT_TAG) => {}
        Some(other) => return Err(invalid(format!("\"format\" is \"{other}\", expected \"{FORMAT_TAG}\""))),
        None => return Err(invalid(format!("no \"format\": \"{FORMAT_TAG}\" field: is this a vsrqa bundle?"))),
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(invalid(format!(
                "manifest version {v} is not supported: this vsrqa {} reads version {FORMAT_VERSION}",
                crate::VERSION
            )))
        }
        None => return Err(invalid("no numeric \"version\" field".into())),
    }
    serde_json::from_value(value).map_err(|e| Error::bundle_caused(path, format!("invalid manifest: {e}"), e))
}

/// Checks that branch or member names (`what`) are non-empty `[a-z0-9_]` and unique; returns them.
fn unique_names<'a>(what: &str, names: impl Iterator<Item = &'a str>, path: &Path) -> Result<HashSet<&'a str>> {
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(Error::bundle(path, format!("{what} name \"{name}\" must be non-empty [a-z0-9_]")));
        }
        if !seen.insert(name) {
            let plural = if what == "branch" { "branches" } else { "members" };
            return Err(Error::bundle(path, format!("two {plural} are named \"{name}\"")));
        }
    }
    Ok(seen)
}

/// Upper bounds on the manifest's counts and sizes. Far above any real bundle; they keep a damaged
/// or hostile manifest from asking for absurd allocations or overflowing arithmetic.
const MAX_KEY_FRAMES: u32 = 1 << 16;
const MAX_FRAMES_PER_SAMPLE: usize = 4096;
const MAX_FEATURES: usize = 1 << 20;

/// Checks one count or size field against its bound.
fn bounded(what: &str, value: usize, max: usize) -> Result<(), String> {
    if value > max {
        return Err(format!("{what} = {value} is above the limit of {max}"));
    }
    Ok(())
}

fn validate_manifest(manifest: &Manifest, path: &Path) -> Result<()> {
    let invalid = |message: String| Error::bundle(path, message);
    if manifest.branches.is_empty() {
        return Err(invalid("\"branches\" is empty: a bundle needs at least one feature branch".into()));
    }
    if manifest.key_frames.count == Some(0) {
        return Err(invalid("\"key_frames.count\" is 0: use null to pool every key frame".into()));
    }
    if let Some(count) = manifest.key_frames.count {
        bounded("key_frames.count", count as usize, MAX_KEY_FRAMES as usize).map_err(invalid)?;
    }
    bounded("head.input_dim", manifest.head.input_dim, MAX_FEATURES).map_err(invalid)?;
    let names = unique_names("branch", manifest.branches.iter().map(|b| b.name.as_str()), path)?;
    for branch in &manifest.branches {
        validate_branch(branch).map_err(|e| invalid(format!("branch '{}': {e}", branch.name)))?;
    }
    // Each output_dim is bounded by validate_branch, so the sum cannot overflow.
    let total: usize = manifest.branches.iter().map(|b| b.output_dim).sum();
    if total != manifest.head.input_dim {
        let dims: Vec<String> = manifest.branches.iter().map(|b| format!("{} {}", b.name, b.output_dim)).collect();
        return Err(invalid(format!(
            "the branch feature dims add up to {total} ({}) but head.input_dim is {}",
            dims.join(" + "),
            manifest.head.input_dim
        )));
    }
    if manifest.head.layers.is_empty() {
        return Err(invalid("head.layers is empty".into()));
    }
    if let Some(provenance) = &manifest.provenance {
        provenance
            .validate(
                manifest.branches.iter().map(|b| b.name.as_str()),
                manifest.members.iter().map(|m| m.name.as_str()),
            )
            .map_err(invalid)?;
    }
    unique_names("member", manifest.members.iter().map(|m| m.name.as_str()), path)?;
    for member in &manifest.members {
        let name = &member.name;
        if let Some(branch) = member.networks.keys().find(|b| !names.contains(b.as_str())) {
            return Err(invalid(format!(
                "member '{name}' replaces the network of \"{branch}\", which is not a branch"
            )));
        }
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
    let InputGeometry { height, width } = branch.input;
    if height == 0 || width == 0 {
        return Err(format!("input geometry {width}x{height} is empty"));
    }
    let rules =
        ListRules { per_key_frame: branch.scope == Scope::KeyFrame, kept_as_bytes: branch.scope == Scope::Clip };
    check_list(&branch.preprocess, rules, (height, width)).map_err(|e| e.to_string())
}
