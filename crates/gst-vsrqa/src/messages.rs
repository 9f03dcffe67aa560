//! The element messages the element posts on the bus (docs/gstreamer.md lists their fields).
//! Times are nanoseconds as `guint64`, with `GST_CLOCK_TIME_NONE` (`u64::MAX`) where unknown.

use vsrqa::{ClipScore, FrameScore};

/// Name of the message carrying one key frame's score.
pub const FRAME: &str = "vsrqa-frame";
/// Name of the message carrying a clip's score (or a window's).
pub const CLIP: &str = "vsrqa-clip";

/// Why a clip ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipEnd {
    /// End of stream.
    Eos,
    /// The frame size or rate changed: the frames after the change are a new clip.
    CapsChange,
    /// A flush (a seek): the frames after it are a new clip.
    Flush,
    /// A window of a windowed stream (the `window` property) is complete.
    Window,
}

impl ClipEnd {
    pub fn name(self) -> &'static str {
        match self {
            ClipEnd::Eos => "eos",
            ClipEnd::CapsChange => "caps-change",
            ClipEnd::Flush => "flush",
            ClipEnd::Window => "window",
        }
    }
}

/// A buffer's times, kept for the key frames' messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameTimes {
    pub pts: Option<gst::ClockTime>,
    pub running_time: Option<gst::ClockTime>,
}

fn nanoseconds(time: Option<gst::ClockTime>) -> u64 {
    time.map_or(u64::MAX, gst::ClockTime::nseconds)
}

/// `vsrqa-frame`: one key frame's score, posted as soon as it is known.
pub fn frame(clip: u32, score: &FrameScore, times: FrameTimes) -> gst::Structure {
    gst::Structure::builder(FRAME)
        .field("clip", clip)
        .field("frame-index", score.frame_index)
        .field("key-frame", score.key_frame)
        .field("score", score.score)
        .field("pts", nanoseconds(times.pts))
        .field("running-time", nanoseconds(times.running_time))
        .build()
}

/// What the element adds to a clip score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipContext {
    pub clip: u32,
    pub end: ClipEnd,
    /// The clip's (or window's) first frame's times.
    pub first: FrameTimes,
    /// Frames the queue was too full to take (the `leaky` property).
    pub frames_dropped: u64,
}

/// `vsrqa-clip`: a clip's (or a window's) score.
pub fn clip(score: &ClipScore, context: ClipContext) -> gst::Structure {
    let partial = score.ended_early() || score.ended_late() || context.frames_dropped > 0;
    gst::Structure::builder(CLIP)
        .field("clip", context.clip)
        .field("reason", context.end.name())
        .field("score", score.score)
        .field("frames", score.frames)
        .field("key-frames", score.key_frames)
        .field("pooled-slots", score.pooled_slots)
        .field("expected-frames", score.expected_frames.unwrap_or(0))
        .field("window", score.window)
        .field("first-frame", score.first_frame)
        .field("pts", nanoseconds(context.first.pts))
        .field("running-time", nanoseconds(context.first.running_time))
        .field("frames-dropped", context.frames_dropped)
        .field("partial", partial)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_that_missed_frames_or_its_announced_length_is_partial() {
        gst::init().unwrap();
        let score = ClipScore {
            score: 0.5,
            frames: 30,
            key_frames: 1,
            pooled_slots: 1,
            expected_frames: Some(30),
            first_frame: 0,
            window: 0,
        };
        let context = ClipContext { clip: 0, end: ClipEnd::Eos, first: FrameTimes::default(), frames_dropped: 0 };
        let exact = clip(&score, context);
        assert!(!exact.get::<bool>("partial").unwrap());
        assert_eq!(exact.get::<u64>("pts").unwrap(), u64::MAX);
        assert_eq!(exact.get::<&str>("reason").unwrap(), "eos");
        let short = ClipScore { frames: 29, ..score };
        assert!(clip(&short, context).get::<bool>("partial").unwrap());
        let dropped = ClipContext { frames_dropped: 1, ..context };
        assert!(clip(&score, dropped).get::<bool>("partial").unwrap());
    }
}
