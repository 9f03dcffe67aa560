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
    let builder = gst::Structure::builder(CLIP)
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
        .field("partial", partial);
    // An ensemble's members' scores, in the order of the `members` property (or the bundle's).
    let builder = builder
        .field_if_some(
            "member-scores",
            (!score.member_scores.is_empty()).then(|| gst::Array::new(score.member_scores.iter().copied())),
        )
        .field_if_some("member-spread", score.member_spread());
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_that_missed_frames_or_its_announced_length_is_partial() {
        gst::init().unwrap();
        let mut score = ClipScore::new(0.5, 30, 1, 1);
        score.expected_frames = Some(30);
        let context = ClipContext { clip: 0, end: ClipEnd::Eos, first: FrameTimes::default(), frames_dropped: 0 };
        let exact = clip(&score, context);
        assert!(!exact.get::<bool>("partial").unwrap());
        assert_eq!(exact.get::<u64>("pts").unwrap(), u64::MAX);
        assert_eq!(exact.get::<&str>("reason").unwrap(), "eos");
        let mut short = score.clone();
        short.frames = 29;
        assert!(clip(&short, context).get::<bool>("partial").unwrap());
        let dropped = ClipContext { frames_dropped: 1, ..context };
        assert!(clip(&score, dropped).get::<bool>("partial").unwrap());
        assert!(!exact.has_field("member-scores") && !exact.has_field("member-spread"));
    }

    #[test]
    fn an_ensembles_clip_carries_its_members_scores_and_spread() {
        gst::init().unwrap();
        let mut score = ClipScore::new(0.5, 30, 1, 1);
        score.member_scores = vec![0.25, 0.75];
        let context = ClipContext { clip: 0, end: ClipEnd::Eos, first: FrameTimes::default(), frames_dropped: 0 };
        let message = clip(&score, context);
        let members: Vec<f64> =
            message.get::<gst::Array>("member-scores").unwrap().iter().map(|v| v.get::<f64>().unwrap()).collect();
        assert_eq!(members, [0.25, 0.75]);
        assert_eq!(message.get::<f64>("member-spread").unwrap(), 0.25);
        score.member_scores = vec![0.5];
        let one = clip(&score, context);
        assert_eq!(one.get::<gst::Array>("member-scores").unwrap().len(), 1);
        assert!(!one.has_field("member-spread"));
    }
}
