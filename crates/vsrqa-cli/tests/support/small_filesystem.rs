//! A real full disk for tests: a tmpfs of a few KiB mounted in a private user and mount namespace
//! (`unshare --user --map-root-user --mount`), so the test needs no privileges and nothing outside
//! it sees the mount. Writes there fail with ENOSPC exactly as on a full disk; `mount -o remount`
//! inside the script "frees space" by growing the filesystem.
//!
//! Everything that must happen on the small filesystem runs in one shell script (the mount ends
//! with the namespace): it finds the mount point in `$FS` and copies what the test inspects
//! afterwards to a directory outside it.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `script` with `sh` in a new namespace where a `size_kib` tmpfs is mounted on
/// `mount_point` (an empty directory) and `$FS` names it. `vars` are set in the script's
/// environment. Panics, naming what is missing, where the namespace or the mount is refused.
pub fn run_script(mount_point: &Path, size_kib: u64, script: &str, vars: &[(&str, &Path)]) -> Output {
    let wrapper =
        format!("mount -t tmpfs -o size={size_kib}k vsrqa-full-disk-test \"$FS\" || exit 97\nset -u\n{script}");
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &wrapper])
        .env("FS", mount_point)
        .envs(vars.iter().map(|(name, value)| (name, value.as_os_str())))
        .output()
        .unwrap_or_else(|e| panic!("cannot run unshare (util-linux) for the full-disk test: {e}"));
    assert!(
        output.status.code() != Some(97) && !String::from_utf8_lossy(&output.stderr).starts_with("unshare:"),
        "the full-disk test needs a tmpfs mounted in a user namespace (unshare --user --map-root-user \
         --mount), which this machine refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The names in `dir` that an interrupted atomic write would leave (vsrqa's temporaries).
pub fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                pending.push(entry.path());
            }
            if name.starts_with(".partial-") {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}
