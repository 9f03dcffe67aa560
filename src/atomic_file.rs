//! Writing a file so that readers only ever see the old content or the complete new one: the bytes
//! go to a temporary file beside the target, are synced, then renamed over it. A crash or a full
//! disk leaves at most a temporary (named with [`TEMPORARY_PREFIX`], for callers to clean up).

use std::fs;
use std::io::Write;
use std::path::Path;

/// Temporaries are named `.partial-<pid>-<thread>-<file name>`.
pub const TEMPORARY_PREFIX: &str = ".partial-";

/// Whether a write failed because the filesystem is full or the user's quota is spent: retrying the
/// next file will fail the same way, so callers stop instead of going on.
pub fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// The temporary beside `path` that this process and thread write before renaming it over `path`.
pub fn temporary_path(path: &Path) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The thread id keeps two threads of one process writing the same file from sharing a temporary.
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_digit(), "");
    dir.join(format!("{TEMPORARY_PREFIX}{}-{thread}-{name}", std::process::id()))
}

pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = temporary_path(path);
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
