//! The on-disk cache of built engines. Building takes seconds to minutes per network, so plans are
//! kept under their [`engine_cache_key`](super::cache_key::engine_cache_key) and reused. Each file carries the
//! SHA-256 of its plan: a damaged or truncated file is treated as missing and rebuilt. Files are
//! written to a temporary name, synced and renamed, so a crash or a full disk never leaves a
//! half-written plan under a real name.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cache_key::{cache_file_name, runtime_cache_file_name};
use super::GpuError;

/// File header: magic, format version, SHA-256 of the plan that follows.
const MAGIC: &[u8; 8] = b"VSRQAENG";
const FORMAT: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 32;

/// Where engines are cached by default: `$XDG_CACHE_HOME/vsrqa/engines` (or `~/.cache/...`).
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("vsrqa").join("engines"))
}

#[derive(Clone, Debug)]
pub struct EngineCache {
    dir: PathBuf,
}

/// Why [`EngineCache::get_or_build`] or [`EngineCache::store`] has no plan for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheError {
    pub message: String,
    /// The cache's filesystem is full (or over quota): storing another plan will fail too.
    pub disk_full: bool,
}

impl From<GpuError> for CacheError {
    fn from(error: GpuError) -> Self {
        CacheError { message: error.to_string(), disk_full: false }
    }
}

impl std::fmt::Display for CacheError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What [`EngineCache::get_or_build`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A valid plan was in the cache.
    Cached,
    /// Built now (missing before).
    Built,
    /// The cached file was damaged; built again and replaced.
    Rebuilt,
}

impl EngineCache {
    pub fn new(dir: impl Into<PathBuf>) -> EngineCache {
        EngineCache { dir: dir.into() }
    }

    pub fn path(&self, branch: &str, key: &str) -> PathBuf {
        self.dir.join(cache_file_name(branch, key))
    }

    /// The cached plan, or `Ok(None)` when there is none, `Err` when there is one but it is damaged.
    pub fn load(&self, branch: &str, key: &str) -> Result<Option<Vec<u8>>, GpuError> {
        load_file(&self.path(branch, key))
    }

    /// Writes `plan` atomically; returns its path.
    pub fn store(&self, branch: &str, key: &str, plan: &[u8]) -> Result<PathBuf, CacheError> {
        self.store_file(&self.path(branch, key), plan, "engine cache file")
    }

    /// The file of TensorRT-RTX's runtime cache (its kernels compiled for one GPU model) of a
    /// branch's engine, under a [`runtime_cache_key`](super::cache_key::runtime_cache_key).
    pub fn runtime_path(&self, branch: &str, runtime_key: &str) -> PathBuf {
        self.dir.join(runtime_cache_file_name(branch, runtime_key))
    }

    /// The runtime cache, as [`load`](Self::load) reads a plan (checksummed; damaged is `Err`).
    pub fn load_runtime(&self, branch: &str, runtime_key: &str) -> Result<Option<Vec<u8>>, GpuError> {
        load_file(&self.runtime_path(branch, runtime_key))
    }

    /// Writes a runtime cache atomically; returns its path.
    pub fn store_runtime(&self, branch: &str, runtime_key: &str, cache: &[u8]) -> Result<PathBuf, CacheError> {
        self.store_file(&self.runtime_path(branch, runtime_key), cache, "runtime cache file")
    }

    fn store_file(&self, path: &Path, bytes: &[u8], what: &str) -> Result<PathBuf, CacheError> {
        let fail = |e: std::io::Error| {
            let disk_full = crate::atomic_file::is_disk_full(&e);
            let why = if disk_full { "the disk is full, nothing was half-written: " } else { "" };
            CacheError { message: format!("cannot write the {what} {}: {why}{e}", path.display()), disk_full }
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        crate::atomic_file::write(path, &encode(bytes)).map_err(fail)?;
        Ok(path.to_path_buf())
    }

    /// The cached plan, else `build()`'s, stored. A damaged cache file is rebuilt, not an error.
    pub fn get_or_build(
        &self,
        branch: &str,
        key: &str,
        build: impl FnOnce() -> Result<Vec<u8>, GpuError>,
    ) -> Result<(Vec<u8>, Outcome), CacheError> {
        let outcome = match self.load(branch, key) {
            Ok(Some(plan)) => return Ok((plan, Outcome::Cached)),
            Ok(None) => Outcome::Built,
            Err(_) => Outcome::Rebuilt,
        };
        let plan = build()?;
        self.store(branch, key, &plan)?;
        Ok((plan, outcome))
    }
}

/// A cache file's content, or `Ok(None)` when there is none, `Err` when it is damaged.
fn load_file(path: &Path) -> Result<Option<Vec<u8>>, GpuError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(GpuError::Cache(format!("{}: {e}", path.display()))),
    };
    decode(&bytes).map(Some).map_err(|e| GpuError::Cache(format!("{}: {e}", path.display())))
}

fn encode(plan: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + plan.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&Sha256::digest(plan));
    out.extend_from_slice(plan);
    out
}

fn decode(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err("not a vsrqa engine cache file".into());
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if format != FORMAT {
        return Err(format!("engine cache format {format}, this vsrqa reads {FORMAT}"));
    }
    let plan = &bytes[HEADER_LEN..];
    if Sha256::digest(plan).as_slice() != &bytes[12..HEADER_LEN] {
        return Err("damaged (checksum mismatch)".into());
    }
    Ok(plan.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn plans_round_trip_and_are_built_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EngineCache::new(dir.path().join("engines"));
        assert_eq!(cache.load("spatial", KEY).unwrap(), None);
        let (plan, outcome) = cache.get_or_build("spatial", KEY, || Ok(vec![7; 1000])).unwrap();
        assert_eq!((plan.len(), outcome), (1000, Outcome::Built));
        let (plan, outcome) = cache.get_or_build("spatial", KEY, || panic!("built twice")).unwrap();
        assert_eq!((plan, outcome), (vec![7; 1000], Outcome::Cached));
        // Only the plan's file: no temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path().join("engines")).unwrap().count(), 1);
    }

    #[test]
    fn runtime_caches_sit_beside_plans_under_their_own_name_and_are_checked_alike() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EngineCache::new(dir.path());
        assert_eq!(cache.load_runtime("liqe", KEY).unwrap(), None);
        let plan = cache.store("liqe", KEY, &[1; 64]).unwrap();
        let runtime = cache.store_runtime("liqe", KEY, &[2; 32]).unwrap();
        assert_ne!(plan, runtime);
        assert_eq!(cache.load("liqe", KEY).unwrap(), Some(vec![1; 64]));
        assert_eq!(cache.load_runtime("liqe", KEY).unwrap(), Some(vec![2; 32]));
        let mut damaged = std::fs::read(&runtime).unwrap();
        *damaged.last_mut().unwrap() ^= 1;
        std::fs::write(&runtime, damaged).unwrap();
        assert!(cache.load_runtime("liqe", KEY).unwrap_err().to_string().contains("liqe-"));
        // Replaced whole.
        cache.store_runtime("liqe", KEY, &[3; 8]).unwrap();
        assert_eq!(cache.load_runtime("liqe", KEY).unwrap(), Some(vec![3; 8]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn damaged_files_are_rebuilt_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EngineCache::new(dir.path());
        let path = cache.store("fastvqa", KEY, &[1, 2, 3, 4]).unwrap();
        let good = std::fs::read(&path).unwrap();
        for damage in [
            {
                let mut b = good.clone();
                *b.last_mut().unwrap() ^= 1;
                b
            },
            good[..good.len() - 1].to_vec(),
            good[..10].to_vec(),
            b"garbage".to_vec(),
        ] {
            std::fs::write(&path, &damage).unwrap();
            assert!(cache.load("fastvqa", KEY).is_err());
            let (plan, outcome) = cache.get_or_build("fastvqa", KEY, || Ok(vec![1, 2, 3, 4])).unwrap();
            assert_eq!((plan, outcome), (vec![1, 2, 3, 4], Outcome::Rebuilt));
            assert_eq!(std::fs::read(&path).unwrap(), good);
        }
    }

    #[test]
    fn a_failed_build_or_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EngineCache::new(dir.path().join("engines"));
        let error = cache.get_or_build("liqe", KEY, || Err(GpuError::TensorRt("parser failed".into()))).unwrap_err();
        assert_eq!(error, CacheError { message: "parser failed".into(), disk_full: false });
        assert!(!cache.path("liqe", KEY).exists());

        // A cache directory that cannot be created (a file is in the way): a clear error.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let error = EngineCache::new(&blocked).store("liqe", KEY, &[1]).unwrap_err();
        assert!(error.message.contains("cannot write the engine cache file"), "{error}");
        assert!(!error.disk_full);
    }
}
