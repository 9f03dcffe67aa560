//! What vsrqa's test suites share, written once: where the repository's test data is, a bundle
//! copied to a temporary directory (to damage or extend it), and the sample clip's frames. A
//! dev-dependency of the workspace's crates only; never published.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use vsrqa_video::y4m::Y4mReader;

/// `path` under the repository's tests/data.
pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(path)
}

/// The tiny bundle (tests/data/tiny_bundle, made by tools/fixtures/make_tiny_bundle.py).
pub fn tiny_bundle() -> PathBuf {
    data("tiny_bundle")
}

/// A copy of the bundle at `bundle` (its files; a bundle has no folders) in a new temporary
/// directory, deleted when the returned value is dropped.
pub fn copy_of(bundle: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_files(bundle, dir.path());
    dir
}

/// Copies every file of `from` into the existing directory `to`.
pub fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name()))
            .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
    }
}

/// A Y4M clip's frames, each a packed 4:2:0 buffer, with its size and rate.
#[derive(Clone, Debug)]
pub struct Clip {
    pub frames: Vec<Vec<u8>>,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// The frames of the Y4M file at `path`.
pub fn read_y4m(path: &Path) -> Clip {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = Y4mReader::new(BufReader::new(file)).unwrap();
    let mut frames = Vec::new();
    let mut buffer = Vec::new();
    while reader.read_frame(&mut buffer).unwrap() {
        frames.push(buffer.clone());
    }
    let header = &reader.header;
    Clip { frames, width: header.width, height: header.height, fps: header.fps }
}

/// The sample clip (tests/data/sample.y4m: 20 frames of 112x80 at 8 fps).
pub fn sample_clip() -> Clip {
    read_y4m(&data("sample.y4m"))
}
