//! ONNX Runtime's optimized graphs, kept in the engine cache (`GpuOptions::cache_dir`, the C API's
//! `cache_dir`) beside the TensorRT engines, so that an engine loads a network without optimizing
//! it again: graph optimization is most of a load (FAST-VQA's 21,000 nodes take seconds), and a
//! player pays it at every start (docs/performance.md, "Loading").
//!
//! The graph ONNX Runtime writes after its optimizations holds operations chosen for this CPU
//! (NCHWc layouts for its vector width) and this release's kernels, so the key covers the network's
//! SHA-256, the runtime's build, the CPU's model and features, and the session options that shape
//! the graph. A file `<branch>-<key>.onnx` comes with `<branch>-<key>.sha256`, the SHA-256 of the
//! file: a graph without it, or that does not match it, is optimized and written again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::hash::{sha256_file, sha256_hex};

/// Changes when what is cached, or how it is keyed, changes.
const FORMAT: &str = "vsrqa onnxruntime optimized graph 1";

/// Where a cache's optimized graphs are kept: `onnxruntime/` in the engine cache.
#[derive(Clone, Debug)]
pub struct GraphCache {
    dir: PathBuf,
}

/// One network's place in the cache.
#[derive(Clone, Debug)]
pub struct GraphEntry {
    graph: PathBuf,
    digest: PathBuf,
}

impl GraphCache {
    pub fn new(engine_cache_dir: &Path) -> GraphCache {
        GraphCache { dir: engine_cache_dir.join("onnxruntime") }
    }

    /// The entry of branch `name`'s network (SHA-256 `network_sha256`) optimized by the runtime
    /// `runtime` (its build string) with `session_options` (what shapes the optimized graph).
    pub fn entry(&self, name: &str, network_sha256: &str, runtime: &str, session_options: &str) -> GraphEntry {
        let key = sha256_hex(format!("{FORMAT}\n{network_sha256}\n{runtime}\n{}\n{session_options}", cpu()).as_bytes());
        let stem = format!("{}-{}", file_safe(name), &key[..32]);
        GraphEntry { graph: self.dir.join(format!("{stem}.onnx")), digest: self.dir.join(format!("{stem}.sha256")) }
    }
}

impl GraphEntry {
    /// The cached graph, if there is one and it is the file its digest describes.
    pub fn valid_graph(&self) -> Option<&Path> {
        let recorded = fs::read_to_string(&self.digest).ok()?;
        let actual = sha256_file(&self.graph).ok()?;
        (recorded.trim() == actual).then_some(self.graph.as_path())
    }

    /// A temporary path in the cache for the runtime to write the optimized graph to (the cache
    /// directory is created); [`GraphEntry::commit`] gives it its name.
    pub fn staging_path(&self) -> io::Result<PathBuf> {
        fs::create_dir_all(self.graph.parent().unwrap_or(Path::new(".")))?;
        Ok(atomic_file::temporary_path(&self.graph))
    }

    /// Makes the graph written at `staged` the entry's: renamed into place, then its digest
    /// written. Until the digest is there the graph is not used, so a crash in between costs one
    /// more optimization, never a wrong graph. `staged` is removed on failure.
    pub fn commit(&self, staged: &Path) -> io::Result<()> {
        let result = (|| {
            let digest = sha256_file(staged)?;
            let _ = fs::remove_file(&self.digest);
            fs::rename(staged, &self.graph)?;
            atomic_file::write(&self.digest, format!("{digest}\n").as_bytes())
        })();
        if result.is_err() {
            let _ = fs::remove_file(staged);
        }
        result
    }

    pub fn graph_path(&self) -> &Path {
        &self.graph
    }
}

/// The CPU as the runtime's kernels see it: the model name and the feature flags (Linux's
/// /proc/cpuinfo; elsewhere the architecture alone).
fn cpu() -> &'static str {
    // Read once per process: every network of every engine asks.
    static CPU: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CPU.get_or_init(|| {
        let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split(':').nth(1))
                .unwrap_or("")
                .trim()
        };
        format!("{} | {} | {}", std::env::consts::ARCH, field("model name"), field("flags"))
    })
}

/// A branch name as part of a file name: anything but ASCII letters, digits, '-' and '_' becomes '_'.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_in_everything_that_shapes_the_graph() {
        let cache = GraphCache::new(Path::new("/cache"));
        let base = cache.entry("spatial", "aa", "ort 1.32", "level3");
        assert_eq!(base.graph_path(), cache.entry("spatial", "aa", "ort 1.32", "level3").graph_path(), "stable");
        assert!(base.graph_path().starts_with("/cache/onnxruntime"));
        for other in [
            cache.entry("liqe", "aa", "ort 1.32", "level3"),
            cache.entry("spatial", "ab", "ort 1.32", "level3"),
            cache.entry("spatial", "aa", "ort 1.33", "level3"),
            cache.entry("spatial", "aa", "ort 1.32", "level2"),
        ] {
            assert_ne!(base.graph_path(), other.graph_path());
        }
        assert!(cache
            .entry("a/../b", "aa", "x", "y")
            .graph_path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("a____b-"));
    }

    #[test]
    fn a_graph_counts_only_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let entry = GraphCache::new(dir.path()).entry("spatial", "aa", "ort", "level3");
        assert!(entry.valid_graph().is_none(), "empty cache");
        let staged = entry.staging_path().unwrap();
        fs::write(&staged, b"graph").unwrap();
        entry.commit(&staged).unwrap();
        assert!(!staged.exists());
        assert_eq!(entry.valid_graph(), Some(entry.graph_path()));
        // Damaged: the digest no longer matches.
        fs::write(entry.graph_path(), b"grapH").unwrap();
        assert!(entry.valid_graph().is_none());
        // A graph without its digest (a crash between the rename and the digest).
        fs::write(entry.graph_path(), b"graph").unwrap();
        fs::remove_file(&entry.digest).unwrap();
        assert!(entry.valid_graph().is_none());
    }

    #[test]
    fn a_failed_commit_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let entry = GraphCache::new(dir.path()).entry("spatial", "aa", "ort", "level3");
        let staged = entry.staging_path().unwrap();
        assert!(entry.commit(&staged).is_err(), "nothing was written there");
        assert!(entry.valid_graph().is_none());
        let left: Vec<_> = fs::read_dir(dir.path().join("onnxruntime")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
