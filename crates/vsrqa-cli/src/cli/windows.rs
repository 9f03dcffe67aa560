//! What a file's score covers. The model's clip score pools a fixed number of key frames (8 at one
//! per second: its span). A file longer than that is scored in consecutive windows of the span,
//! each scored as the reference scores a clip of its frames, and the windows' scores are pooled
//! (frame-weighted mean by default). `--whole-clip` keeps the reference's rule: one clip, its
//! first 8 key frames, the rest seen only by the clip branches' samples.

use serde_json::{json, Value};
use vsrqa::{ClipScore, Engine, Pooling, Session};

/// How a file is cut into clips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cut {
    /// One clip per frame size (the reference's rule).
    WholeClip,
    /// Clips of at most this many frames.
    Windows(u64),
}

/// How one file is scored: the cut and the pooling, with the numbers the report gives.
#[derive(Clone, Copy, Debug)]
pub struct Scoring {
    pub cut: Cut,
    pub pooling: Pooling,
    pub fps: f64,
    /// Frames between key frames.
    pub interval: u64,
    /// Key frames a clip score pools at most (the manifest's count).
    pub key_frame_count: Option<u32>,
}

/// What the command line asked for (`--window`, `--whole-clip`, `--pooling`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ScoringChoice {
    pub window_seconds: Option<f64>,
    pub whole_clip: bool,
    pub pooling: Pooling,
}

impl ScoringChoice {
    /// The scoring of a file at `fps`.
    pub fn at(&self, engine: &Engine, fps: f64) -> vsrqa::Result<Scoring> {
        let cut = match (self.whole_clip, self.window_seconds) {
            (true, _) => Cut::WholeClip,
            (false, Some(seconds)) => Cut::Windows(vsrqa::StreamOptions::window_frames_for(seconds, fps)?),
            (false, None) => vsrqa::engine::span_frames(engine.bundle(), fps).map_or(Cut::WholeClip, Cut::Windows),
        };
        Ok(Scoring {
            cut,
            pooling: self.pooling,
            fps,
            interval: Session::key_frame_interval(fps),
            key_frame_count: engine.bundle().manifest.key_frames.count,
        })
    }
}

/// One scored clip of the file: a window, or a whole segment.
#[derive(Clone, Debug)]
pub struct Part {
    /// The frame-size segment it belongs to.
    pub segment: u32,
    /// The clip's score; `first_frame` is its first frame in the file, `window` its number in the
    /// file.
    pub clip: ClipScore,
}

impl Scoring {
    /// The model's span in frames (its key-frame count times the interval), when it has one.
    fn span(&self) -> Option<u64> {
        self.key_frame_count.map(|count| u64::from(count) * self.interval)
    }

    /// Frames of `clip` that its key frames span: from its first frame to the end of its last
    /// key frame's interval (at most the clip's end).
    fn covered(&self, clip: &ClipScore) -> u64 {
        (u64::from(clip.key_frames) * self.interval).min(clip.frames)
    }

    fn seconds(&self, frames: u64) -> f64 {
        frames as f64 / self.fps
    }

    /// The file's score: the parts' scores pooled.
    pub fn pooled(&self, parts: &[Part]) -> Option<ClipScore> {
        let clips: Vec<ClipScore> = parts.iter().map(|p| p.clip.clone()).collect();
        self.pooling.pool_clips(&clips)
    }

    /// The frame ranges no key frame spans, `(first, last)` in the file.
    fn uncovered(&self, parts: &[Part]) -> Vec<(u64, u64)> {
        parts
            .iter()
            .filter(|p| self.covered(&p.clip) < p.clip.frames)
            .map(|p| (p.clip.first_frame + self.covered(&p.clip), p.clip.first_frame + p.clip.frames - 1))
            .collect()
    }

    /// `coverage`: the frames the key frames span, and the share of the file they are.
    pub fn coverage_json(&self, parts: &[Part]) -> Value {
        let frames: u64 = parts.iter().map(|p| p.clip.frames).sum();
        let covered: u64 = parts.iter().map(|p| self.covered(&p.clip)).sum();
        let last_covered = parts.iter().rev().find(|p| self.covered(&p.clip) > 0);
        let end = last_covered.map_or(0, |p| p.clip.first_frame + self.covered(&p.clip));
        let uncovered: Vec<Value> = self
            .uncovered(parts)
            .into_iter()
            .map(|(first, last)| {
                json!({
                    "first_frame": first,
                    "last_frame": last,
                    "start_seconds": self.seconds(first),
                    "end_seconds": self.seconds(last + 1),
                })
            })
            .collect();
        json!({
            "first_frame": 0,
            "last_frame": end.saturating_sub(1),
            "start_seconds": 0.0,
            "end_seconds": self.seconds(end),
            "frames_covered": covered,
            "frames": frames,
            "share": if frames == 0 { 0.0 } else { covered as f64 / frames as f64 },
            "uncovered": uncovered,
        })
    }

    /// `scoring`: how the file was cut and pooled.
    pub fn scoring_json(&self) -> Value {
        let (mode, window_frames) = match self.cut {
            Cut::WholeClip => ("whole_clip", None),
            Cut::Windows(frames) => ("windows", Some(frames)),
        };
        json!({
            "mode": mode,
            "window_frames": window_frames,
            "window_seconds": window_frames.map(|f| self.seconds(f)),
            "pooling": self.pooling.to_string(),
            "key_frame_interval": self.interval,
            "model_span_frames": self.span(),
        })
    }

    /// `windows`: each window's place in the file, score and flags (window mode only).
    pub fn windows_json(&self, parts: &[Part]) -> Option<Value> {
        let Cut::Windows(length) = self.cut else { return None };
        let rows = parts
            .iter()
            .map(|p| {
                let c = &p.clip;
                let mut flags = Vec::new();
                if c.frames < length {
                    flags.push("short");
                }
                if self.covered(c) < c.frames {
                    flags.push("partly_covered");
                }
                let mut row = json!({
                    "window": c.window,
                    "segment": p.segment,
                    "first_frame": c.first_frame,
                    "frames": c.frames,
                    "start_seconds": self.seconds(c.first_frame),
                    "end_seconds": self.seconds(c.first_frame + c.frames),
                    "score": c.score,
                    "key_frames": c.key_frames,
                    "flags": flags,
                });
                // An ensemble's: each member's score of the window, in `model.members` order.
                if !c.member_scores.is_empty() {
                    row["member_scores"] = json!(c.member_scores);
                }
                row
            })
            .collect::<Vec<_>>();
        Some(json!(rows))
    }

    /// Notes for the report: what the score leaves out, and how it was made.
    pub fn notes(&self, parts: &[Part]) -> Vec<String> {
        let mut notes = Vec::new();
        let frames: u64 = parts.iter().map(|p| p.clip.frames).sum();
        let uncovered = self.uncovered(parts);
        let left_out: u64 = uncovered.iter().map(|(first, last)| last - first + 1).sum();
        let count = self.key_frame_count.unwrap_or(0);
        match self.cut {
            Cut::WholeClip if left_out > 0 => notes.push(format!(
                "whole clip: the clip score pools the first {count} key frames (frames 0 to {}, {:.1} s of {:.1} s), \
                 the reference's rule; the other {left_out} frames count only through the clip branches' samples. \
                 Leave out --whole-clip to score the whole video in windows",
                frames - left_out - 1,
                self.seconds(frames - left_out),
                self.seconds(frames)
            )),
            Cut::Windows(length) if left_out > 0 => notes.push(format!(
                "a window of {length} frames is longer than the model's span ({count} key frames, {} frames): \
                 {left_out} of {frames} frames are past the key frames of their window and count only through \
                 the clip branches' samples",
                self.span().unwrap_or(0)
            )),
            Cut::Windows(_) if parts.len() > 1 => notes.push(format!(
                "scored in {} windows of up to {} s, each a clip of its own; clip_score is their {}",
                parts.len(),
                match self.cut {
                    Cut::Windows(length) => format!("{:.1}", self.seconds(length)),
                    Cut::WholeClip => unreachable!(),
                },
                describe(self.pooling)
            )),
            _ => {}
        }
        notes
    }

    /// The text block of the windows: one line each.
    pub fn windows_text(&self, parts: &[Part]) -> String {
        let Cut::Windows(_) = self.cut else { return String::new() };
        if parts.len() < 2 {
            return String::new();
        }
        let mut out = format!("  windows      {} pooled by {}\n", parts.len(), self.pooling);
        for p in parts {
            let c = &p.clip;
            out += &format!(
                "  window {:<5} {:.4}   ({:.1}-{:.1} s, frames {}-{}, {} key frames)\n",
                c.window,
                c.score,
                self.seconds(c.first_frame),
                self.seconds(c.first_frame + c.frames),
                c.first_frame,
                c.first_frame + c.frames - 1,
                c.key_frames
            );
        }
        out
    }
}

/// The pooling, in words, for notes.
fn describe(pooling: Pooling) -> String {
    match pooling {
        Pooling::Mean => "frame-weighted mean".to_owned(),
        Pooling::HarmonicMean => "frame-weighted harmonic mean".to_owned(),
        Pooling::Min => "minimum".to_owned(),
        Pooling::Percentile(p) => format!("{p}th percentile over the frames"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring(cut: Cut) -> Scoring {
        Scoring { cut, pooling: Pooling::Mean, fps: 30.0, interval: 30, key_frame_count: Some(8) }
    }

    fn part(first_frame: u64, frames: u64, window: u32) -> Part {
        let key_frames = frames.div_ceil(30).min(8) as u32;
        let mut clip = ClipScore::new(0.5, frames, key_frames, 8);
        (clip.first_frame, clip.window) = (first_frame, window);
        Part { segment: 0, clip }
    }

    #[test]
    fn a_whole_clip_past_the_span_says_what_it_leaves_out() {
        let s = scoring(Cut::WholeClip);
        let parts = [part(0, 5400, 0)];
        let coverage = s.coverage_json(&parts);
        assert_eq!(coverage["frames_covered"], 240);
        assert_eq!(coverage["last_frame"], 239);
        assert_eq!(coverage["end_seconds"], 8.0);
        assert!((coverage["share"].as_f64().unwrap() - 240.0 / 5400.0).abs() < 1e-15);
        assert_eq!(coverage["uncovered"][0]["first_frame"], 240);
        assert_eq!(coverage["uncovered"][0]["last_frame"], 5399);
        let notes = s.notes(&parts);
        assert!(
            notes[0].contains("frames 0 to 239, 8.0 s of 180.0 s") && notes[0].contains("5160 frames"),
            "{notes:?}"
        );
        assert!(s.windows_json(&parts).is_none());
    }

    #[test]
    fn windows_of_the_span_cover_every_frame() {
        let s = scoring(Cut::Windows(240));
        let parts = [part(0, 240, 0), part(240, 240, 1), part(480, 60, 2)];
        let coverage = s.coverage_json(&parts);
        assert_eq!((coverage["frames_covered"].as_u64(), coverage["frames"].as_u64()), (Some(540), Some(540)));
        assert_eq!(coverage["share"], 1.0);
        assert_eq!(coverage["last_frame"], 539);
        assert!(coverage["uncovered"].as_array().unwrap().is_empty());
        let windows = s.windows_json(&parts).unwrap();
        assert_eq!(windows[2]["flags"], json!(["short"]));
        assert_eq!(windows[1]["start_seconds"], 8.0);
        assert_eq!(windows[1]["end_seconds"], 16.0);
        assert!(s.notes(&parts)[0].contains("3 windows of up to 8.0 s"), "{:?}", s.notes(&parts));
    }

    #[test]
    fn windows_past_the_span_leave_their_tails_out() {
        // 10 s windows at 30 fps: the key frames of each span 8 s of them.
        let s = scoring(Cut::Windows(300));
        let parts = [part(0, 300, 0), part(300, 100, 1)];
        let coverage = s.coverage_json(&parts);
        assert_eq!(coverage["frames_covered"], 240 + 100);
        assert_eq!(coverage["uncovered"].as_array().unwrap().len(), 1);
        assert_eq!(coverage["uncovered"][0]["first_frame"], 240);
        assert_eq!(coverage["uncovered"][0]["last_frame"], 299);
        assert!(s.notes(&parts)[0].contains("60 of 400 frames"), "{:?}", s.notes(&parts));
    }
}
