//! Free space, checked before writing gigabytes, and byte counts for people.

use std::path::Path;

/// Bytes available to this user on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `stats` a writable statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Both are 64-bit on the 64-bit Linux targets vsrqa supports.
    let (blocks, block_size): (u64, u64) = (stats.f_bavail, stats.f_frsize);
    Ok(blocks.saturating_mul(block_size))
}

/// Fails, with both numbers, when `dir`'s filesystem has less than `needed` bytes free.
pub fn ensure_free(dir: &Path, needed: u64, what: &str) -> Result<(), String> {
    let free = free_bytes(dir).map_err(|e| format!("{}: cannot read the free space: {e}", dir.display()))?;
    if free < needed {
        return Err(format!(
            "not enough disk space in {} for {what}: it needs {} ({needed} bytes), {} ({free} bytes) are free",
            dir.display(),
            describe_bytes(needed),
            describe_bytes(free)
        ));
    }
    Ok(())
}

/// "1.5 GiB", "312.0 MiB", "640 bytes".
pub fn describe_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_bytes_in_binary_units() {
        assert_eq!(describe_bytes(640), "640 bytes");
        assert_eq!(describe_bytes(1536), "1.5 KiB");
        assert_eq!(describe_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn asking_for_more_than_the_disk_has_names_both_numbers() {
        let dir = std::env::temp_dir();
        assert!(free_bytes(&dir).unwrap() > 0);
        let message = ensure_free(&dir, u64::MAX, "the test").unwrap_err();
        assert!(message.contains("not enough disk space") && message.contains(&u64::MAX.to_string()), "{message}");
    }
}
