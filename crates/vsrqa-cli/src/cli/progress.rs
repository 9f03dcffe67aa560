//! Progress on stderr while a file is scored, only when stderr is a terminal (and not --quiet).

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vsrqa_video::raw;

use super::input::Clip;

/// A progress bar for one file, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Whether progress is shown at all.
pub fn enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

impl Progress {
    /// `label`: e.g. "[2/5] clip.y4m"; `total`: the frame count when it is known.
    pub fn start(enabled: bool, label: String, total: Option<u64>) -> Progress {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{wide_bar:.cyan/blue}] {pos}/{len} frames  {per_sec}  eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{prefix} {spinner} {pos} frames  {per_sec}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        bar.set_prefix(label);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    pub fn frame_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar (before the file's result or error is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The clip's frame count from its file size, for Y4M files whose frame headers are plain
/// "FRAME" and for raw files; the container's count (or duration x fps) for FFmpeg-decoded
/// files; `None` for stdin and other streams (a named pipe: reading its header again here would
/// take bytes from the frames).
pub fn estimate_frames(clip: &Clip) -> Option<u64> {
    if clip.path == Path::new("-") {
        return None;
    }
    if clip.frames_hint.is_some() {
        return clip.frames_hint;
    }
    let metadata = std::fs::metadata(&clip.path).ok().filter(std::fs::Metadata::is_file)?;
    let file_len = metadata.len();
    let frame_len = raw::frame_len(clip.format, clip.width, clip.height) as u64;
    if frame_len == 0 {
        return None;
    }
    match clip.container.as_str() {
        "raw" => Some(file_len / frame_len),
        "y4m" => {
            let mut header = Vec::new();
            BufReader::new(File::open(&clip.path).ok()?.take(64 * 1024)).read_until(b'\n', &mut header).ok()?;
            Some(file_len.saturating_sub(header.len() as u64) / (frame_len + "FRAME\n".len() as u64))
        }
        _ => None,
    }
}
