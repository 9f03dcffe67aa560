//! The feature bank: the head's inputs for every video of a dataset, extracted once by the
//! frozen branches so that training the head never runs a network (docs/training.md).
//!
//! Layout of a bank directory:
//! - `bank.json`: format tag and version, the model's fingerprint (what the features depend on),
//!   the feature layout and the head's architecture;
//! - `videos/<key>.safetensors`, one per finished video: tensor `features` `[rows, dim]` float32
//!   (the rows the clip score pools over) and, as metadata, the video's path, MOS, group, frame
//!   count, the fingerprint and the SHA-256 of the feature bytes.
//!
//! Every file is written to a temporary name, synced and renamed, so a crash or Ctrl-C leaves
//! either the whole entry or none: an interrupted extraction resumes where it stopped.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::head_model::Architecture;
use crate::error::{Error, Result};
use vsrqa::atomic_file;
use vsrqa::bundle::{sha256_hex, Bundle};
use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange};

pub const BANK_FORMAT: &str = "vsrqa-feature-bank";
pub const BANK_VERSION: u32 = 1;
const INFO_FILE: &str = "bank.json";
const ENTRIES_DIR: &str = "videos";
const ENTRY_EXTENSION: &str = "safetensors";
/// Temporary files start with this; a run deletes the ones an interrupted run left.
const FEATURES_TENSOR: &str = "features";

/// How a bank's videos were decoded: the YUV->RGB conversion, and the colour tags set over the
/// files' own (`--color-matrix`, `--color-range`; `None`: each file's). The features depend on
/// all three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoding {
    pub conversion: ColorConversion,
    pub matrix: Option<ColorMatrix>,
    pub range: Option<ColorRange>,
}

impl From<ColorConversion> for Decoding {
    fn from(conversion: ColorConversion) -> Decoding {
        Decoding { conversion, matrix: None, range: None }
    }
}

impl std::fmt::Display for Decoding {
    /// "the exact conversion, matrix bt709, range full"; tags a file carries go unmentioned.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} conversion", self.conversion.name())?;
        if let Some(matrix) = self.matrix {
            write!(f, ", matrix {}", matrix.name())?;
        }
        if let Some(range) = self.range {
            write!(f, ", range {}", range.name())?;
        }
        Ok(())
    }
}

/// What `bank.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BankInfo {
    pub format: String,
    pub version: u32,
    /// SHA-256 over everything the features depend on: the key-frame rule, every branch's
    /// manifest entry, the hash of its network and the YUV->RGB conversion. Not the head: the
    /// head is what gets trained.
    pub fingerprint: String,
    /// The YUV->RGB conversion the frames were decoded with; a bundle trained on the bank
    /// records it, so that it scores videos the way its training saw them.
    #[serde(default)]
    pub color_conversion: ColorConversion,
    /// The matrix and range given over the files' tags, when one was (`--color-matrix`,
    /// `--color-range`); absent: each file's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_matrix: Option<ColorMatrix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_range: Option<ColorRange>,
    /// The bundle's name, for people.
    pub model_name: String,
    pub feature_dim: usize,
    pub branches: Vec<BranchLayout>,
    pub head: Architecture,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BranchLayout {
    pub name: String,
    pub output_dim: usize,
}

impl BankInfo {
    /// How the bank's videos were decoded.
    pub fn decoding(&self) -> Decoding {
        Decoding { conversion: self.color_conversion, matrix: self.color_matrix, range: self.color_range }
    }

    pub fn of(bundle: &Bundle, decoding: Decoding) -> Result<BankInfo> {
        if !bundle.members.is_empty() {
            // Each member has its own spatial features: a bank of one member's would train a head
            // for that member only.
            return Err(Error::InvalidArgument(format!(
                "bundle '{}' is an ensemble of {} members: a feature bank is made with one model (a member's own bundle)",
                bundle.manifest.name,
                bundle.members.len()
            )));
        }
        Ok(BankInfo {
            format: BANK_FORMAT.into(),
            version: BANK_VERSION,
            fingerprint: fingerprint(bundle, decoding)?,
            color_conversion: decoding.conversion,
            color_matrix: decoding.matrix,
            color_range: decoding.range,
            model_name: bundle.manifest.name.clone(),
            feature_dim: bundle.feature_dim(),
            branches: bundle
                .manifest
                .branches
                .iter()
                .map(|b| BranchLayout { name: b.name.clone(), output_dim: b.output_dim })
                .collect(),
            head: Architecture::of(&bundle.manifest.head, &bundle.head),
        })
    }
}

/// The features' identity: two bundles with the same fingerprint give the same features when
/// their frames are converted the same way.
pub fn fingerprint(bundle: &Bundle, decoding: Decoding) -> Result<String> {
    let mut described = serde_json::json!({
        "key_frames": bundle.manifest.key_frames,
        "branches": bundle.manifest.branches,
        "networks": bundle.networks.iter().map(|n| n.sha256.clone()).collect::<Vec<_>>(),
        "color_conversion": decoding.conversion,
    });
    // The tags set over the files' own enter only when set, so that a bank extracted without
    // them keeps the fingerprint it was written with.
    if let Some(matrix) = decoding.matrix {
        described["color_matrix"] = matrix.name().into();
    }
    if let Some(range) = decoding.range {
        described["color_range"] = range.name().into();
    }
    let text = serde_json::to_string(&described).map_err(|e| Error::invalid(format!("fingerprint: {e}")))?;
    Ok(sha256_hex(text.as_bytes()))
}

/// One video's entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The video as the dataset list names it (the entry's key).
    pub video: String,
    pub mos: f64,
    pub group: Option<String>,
    pub frames: u64,
    /// The frames the rows come from: the first `frames_used` of the video (its key frames and
    /// their intervals). Fewer than `frames` for a video longer than the model's span. `None` in
    /// entries written before it was recorded.
    pub frames_used: Option<u64>,
    pub rows: usize,
    /// `rows * feature_dim` values, row-major.
    pub features: Vec<f32>,
}

pub struct FeatureBank {
    dir: PathBuf,
    pub info: BankInfo,
}

impl FeatureBank {
    /// Creates the bank for `info`, or opens the one already there if it was made with the same
    /// model (resuming); a bank of another model is an error, never overwritten.
    pub fn create(dir: &Path, info: BankInfo) -> Result<FeatureBank> {
        if dir.join(INFO_FILE).exists() {
            let bank = FeatureBank::open(dir)?;
            if bank.info.fingerprint != info.fingerprint {
                return Err(Error::bank(
                    dir,
                    format!(
                        "it holds features of another model or decoding ('{}', {}, fingerprint {}; this one is '{}', {}, {}): use another directory",
                        bank.info.model_name,
                        bank.info.decoding(),
                        &bank.info.fingerprint[..12],
                        info.model_name,
                        info.decoding(),
                        &info.fingerprint[..12]
                    ),
                ));
            }
            return Ok(FeatureBank { dir: dir.to_path_buf(), info });
        }
        fs::create_dir_all(dir.join(ENTRIES_DIR)).map_err(|e| Error::bank(dir, format!("cannot create: {e}")))?;
        let text = serde_json::to_string_pretty(&info).map_err(|e| Error::bank(dir, e.to_string()))?;
        write_atomically(&dir.join(INFO_FILE), format!("{text}\n").as_bytes())?;
        Ok(FeatureBank { dir: dir.to_path_buf(), info })
    }

    pub fn open(dir: &Path) -> Result<FeatureBank> {
        let path = dir.join(INFO_FILE);
        let text = fs::read_to_string(&path).map_err(|e| Error::bank(dir, format!("cannot read {INFO_FILE}: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::bank(&path, format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(|v| v.as_str()) != Some(BANK_FORMAT) {
            return Err(Error::bank(&path, format!("not a feature bank (no \"format\": \"{BANK_FORMAT}\")")));
        }
        if value.get("version").and_then(|v| v.as_u64()) != Some(u64::from(BANK_VERSION)) {
            return Err(Error::bank(
                &path,
                format!("bank version {} is not supported: this vsrqa reads version {BANK_VERSION}", value["version"]),
            ));
        }
        let info: BankInfo = serde_json::from_value(value).map_err(|e| Error::bank(&path, format!("invalid: {e}")))?;
        if info.feature_dim != info.branches.iter().map(|b| b.output_dim).sum::<usize>()
            || info.feature_dim != info.head.spec.input_dim
        {
            return Err(Error::bank(&path, "its feature dimensions do not add up"));
        }
        Ok(FeatureBank { dir: dir.to_path_buf(), info })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry of `video` lives: a hash of its name, so any name maps to a safe file name.
    pub fn entry_path(&self, video: &str) -> PathBuf {
        let key = sha256_hex(video.as_bytes());
        self.dir.join(ENTRIES_DIR).join(format!("{}.{ENTRY_EXTENSION}", &key[..24]))
    }

    /// The entry of `video`: `None` when there is none, an error when it is damaged or belongs to
    /// another model.
    pub fn read(&self, video: &str) -> Result<Option<Entry>> {
        let path = self.entry_path(video);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::bank(&path, format!("cannot read: {e}"))),
        };
        let entry = self.decode(&bytes).map_err(|message| Error::bank(&path, message))?;
        if entry.video != video {
            return Err(Error::bank(&path, format!("holds '{}', not '{video}'", entry.video)));
        }
        Ok(Some(entry))
    }

    /// Stores an entry (replacing the video's previous one), atomically.
    pub fn write(&self, entry: &Entry) -> Result<()> {
        let dim = self.info.feature_dim;
        if entry.rows == 0 || entry.features.len() != entry.rows * dim {
            return Err(Error::invalid(format!(
                "{}: {} features for {} rows of {dim}",
                entry.video,
                entry.features.len(),
                entry.rows
            )));
        }
        let bytes: Vec<u8> = entry.features.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut metadata = HashMap::from([
            ("path".to_string(), entry.video.clone()),
            ("mos".to_string(), format!("{:?}", entry.mos)),
            ("frames".to_string(), entry.frames.to_string()),
            ("fingerprint".to_string(), self.info.fingerprint.clone()),
            ("sha256".to_string(), sha256_hex(&bytes)),
        ]);
        if let Some(group) = &entry.group {
            metadata.insert("group".into(), group.clone());
        }
        if let Some(used) = entry.frames_used {
            metadata.insert("frames_used".into(), used.to_string());
        }
        let view =
            TensorView::new(Dtype::F32, vec![entry.rows, dim], &bytes).map_err(|e| Error::invalid(e.to_string()))?;
        let file = safetensors::serialize([(FEATURES_TENSOR, view)], &Some(metadata))
            .map_err(|e| Error::invalid(format!("{}: {e}", entry.video)))?;
        write_atomically(&self.entry_path(&entry.video), &file)
    }

    /// Every entry, sorted by video name. A damaged entry is an error naming its file.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for path in self.entry_files()? {
            let bytes = fs::read(&path).map_err(|e| Error::bank(&path, format!("cannot read: {e}")))?;
            entries.push(self.decode(&bytes).map_err(|message| Error::bank(&path, message))?);
        }
        entries.sort_by(|a, b| a.video.cmp(&b.video));
        Ok(entries)
    }

    /// Writes a report file (e.g. `errors.json`) into the bank directory, atomically.
    pub fn write_report(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.dir.join(name), bytes)
    }

    /// Deletes the temporary files an interrupted run left; returns how many.
    pub fn remove_temporaries(&self) -> Result<usize> {
        let mut removed = 0;
        for dir in [self.dir.clone(), self.dir.join(ENTRIES_DIR)] {
            let listing = fs::read_dir(&dir).map_err(|e| Error::bank(&dir, format!("cannot list: {e}")))?;
            for item in listing.flatten() {
                if item.file_name().to_string_lossy().starts_with(atomic_file::TEMPORARY_PREFIX) {
                    fs::remove_file(item.path())
                        .map_err(|e| Error::bank(item.path(), format!("cannot delete: {e}")))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// The entry files in the bank (without reading them).
    pub fn entry_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(ENTRIES_DIR);
        let listing = fs::read_dir(&dir).map_err(|e| Error::bank(&dir, format!("cannot list: {e}")))?;
        let mut files: Vec<PathBuf> = listing
            .flatten()
            .map(|item| item.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                !name.starts_with(atomic_file::TEMPORARY_PREFIX) && name.ends_with(&format!(".{ENTRY_EXTENSION}"))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Entry, String> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("damaged entry: {e}"))?;
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| format!("damaged entry: {e}"))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let field =
            |name: &str| metadata.get(name).ok_or_else(|| format!("damaged entry: no \"{name}\" in its metadata"));
        if field("fingerprint")? != &self.info.fingerprint {
            return Err("the entry was extracted with another model than the bank's".into());
        }
        let view = tensors.tensor(FEATURES_TENSOR).map_err(|_| "damaged entry: no features tensor".to_string())?;
        let dim = self.info.feature_dim;
        let rows = match (view.dtype(), view.shape()) {
            (Dtype::F32, [rows, d]) if *d == dim && *rows > 0 => *rows,
            (dtype, shape) => {
                return Err(format!("damaged entry: features are {dtype:?} {shape:?}, expected F32 [rows, {dim}]"))
            }
        };
        if &sha256_hex(view.data()) != field("sha256")? {
            return Err("damaged entry: its features do not match their checksum".into());
        }
        let features: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let mos: f64 = field("mos")?.parse().map_err(|_| "damaged entry: its MOS is not a number".to_string())?;
        let frames: u64 = field("frames")?.parse().map_err(|_| "damaged entry: bad frame count".to_string())?;
        let frames_used = match metadata.get("frames_used") {
            Some(text) => Some(text.parse().map_err(|_| "damaged entry: bad frames_used".to_string())?),
            None => None,
        };
        let group = metadata.get("group").cloned();
        Ok(Entry { video: field("path")?.clone(), mos, group, frames, frames_used, rows, features })
    }
}

/// Writes `bytes` to `path` atomically (vsrqa::atomic_file).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_file::write(path, bytes).map_err(|e| {
        if atomic_file::is_disk_full(&e) {
            Error::DiskFull { path: path.to_path_buf(), message: e.to_string() }
        } else {
            Error::bank(path, format!("cannot write: {e}"))
        }
    })
}
