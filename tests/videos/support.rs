//! Shared by the test binaries that use the generated test videos (tests/videos/make.sh):
//! included with `#[path = ...] mod videos;`, since they live in different crates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .find(|dir| dir.join("tests/videos/make.sh").exists())
            .expect("the workspace root")
            .to_path_buf()
    })
}

/// The test videos, made once per test binary (make.sh keeps existing files).
pub fn videos() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target/test-videos");
        let status = Command::new("bash").arg(root().join("tests/videos/make.sh")).arg(&dir).status().unwrap();
        assert!(status.success(), "tests/videos/make.sh failed");
        dir
    })
}

pub fn video(name: &str) -> PathBuf {
    videos().join(name)
}

/// `ffprobe -count_frames`: the frames FFmpeg decodes (concealed ones included).
pub fn ffprobe_frame_count(path: &Path) -> u64 {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames"])
        .args(["-of", "default=noprint_wrappers=1:nokey=1"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    // MPEG-TS lists the stream twice (its program, then the streams): the same count.
    text.lines()
        .find_map(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("ffprobe said {text:?} for {}", path.display()))
}
