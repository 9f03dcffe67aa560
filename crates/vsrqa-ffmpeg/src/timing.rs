//! Frame rate and timestamp regularity.
//!
//! Variable frame rate heuristic: a stream is called variable when (a) its two frame rates
//! disagree by more than 1% (`r_frame_rate`, the lowest rate that represents every timestamp,
//! against `avg_frame_rate`, frames over duration), or (b) the timestamps seen are irregular:
//! two steps between consecutive timestamps (in the stream's time base) differ by more than
//! 1 tick + 2% of the shorter one. The tick of slack absorbs rounding (29.97 fps in a 1/1000 time
//! base steps by 33 and 34). (b) is checked on the first packets at open (sorted, as B-frames
//! arrive out of order) and on every decoded frame afterwards, so it can turn true while decoding.

use ffmpeg_sys_next::AVRational;

/// Frames per second used when a stream declares no usable rate.
pub const FALLBACK_FPS: f64 = 25.0;

pub(super) fn rate(r: AVRational) -> Option<f64> {
    (r.num > 0 && r.den > 0).then(|| f64::from(r.num) / f64::from(r.den))
}

/// `avg_frame_rate`, else `r_frame_rate`, else [`FALLBACK_FPS`] with a note saying so.
pub(super) fn choose_fps(avg: AVRational, real: AVRational) -> (f64, Option<String>) {
    match (rate(avg), rate(real)) {
        (Some(fps), _) => (fps, None),
        (None, Some(fps)) => {
            (fps, Some(format!("no average frame rate; using r_frame_rate {}/{}", real.num, real.den)))
        }
        (None, None) => (FALLBACK_FPS, Some(format!("the stream declares no frame rate; assuming {FALLBACK_FPS} fps"))),
    }
}

/// (a) of the heuristic: the declared rates disagree.
pub(super) fn rates_disagree(avg: AVRational, real: AVRational) -> bool {
    match (rate(avg), rate(real)) {
        (Some(a), Some(r)) => (a - r).abs() > 0.01 * a.max(r),
        _ => false,
    }
}

/// (b) of the heuristic, fed one timestamp at a time in presentation order.
#[derive(Clone, Debug, Default)]
pub(super) struct Regularity {
    last: Option<i64>,
    shortest: Option<i64>,
    longest: Option<i64>,
}

impl Regularity {
    pub(super) fn push(&mut self, timestamp: i64) {
        if let Some(last) = self.last {
            let step = timestamp.saturating_sub(last);
            if step <= 0 {
                // Repeated or reordered timestamps say nothing about spacing.
                return;
            }
            self.shortest = Some(self.shortest.map_or(step, |s| s.min(step)));
            self.longest = Some(self.longest.map_or(step, |l| l.max(step)));
        }
        self.last = Some(timestamp);
    }

    pub(super) fn irregular(&self) -> bool {
        match (self.shortest, self.longest) {
            (Some(s), Some(l)) => (l - s) as f64 > 1.0 + 0.02 * s as f64,
            _ => false,
        }
    }
}

/// (b) on timestamps in decoding order (the first packets): sorted, and only the smallest
/// `keep` of them, since a frame displayed between two of the last ones may not have arrived yet.
pub(super) fn irregular_packets(mut timestamps: Vec<i64>, keep: usize) -> bool {
    timestamps.sort_unstable();
    timestamps.dedup();
    timestamps.truncate(keep);
    let mut regularity = Regularity::default();
    timestamps.into_iter().for_each(|t| regularity.push(t));
    regularity.irregular()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(num: i32, den: i32) -> AVRational {
        AVRational { num, den }
    }

    #[test]
    fn fps_choice() {
        assert_eq!(choose_fps(q(24, 1), q(48, 1)), (24.0, None));
        let (fps, note) = choose_fps(q(0, 0), q(30000, 1001));
        assert!((fps - 29.97).abs() < 0.01 && note.is_some());
        let (fps, note) = choose_fps(q(0, 1), q(1, 0));
        assert_eq!(fps, FALLBACK_FPS);
        assert!(note.unwrap().contains("25"));
    }

    #[test]
    fn rate_disagreement() {
        assert!(!rates_disagree(q(24, 1), q(24, 1)));
        assert!(!rates_disagree(q(2997, 100), q(30000, 1001)));
        assert!(rates_disagree(q(2950, 100), q(30, 1))); // 1.7% apart
        assert!(!rates_disagree(q(2987, 100), q(30, 1))); // 0.4% apart
        assert!(!rates_disagree(q(0, 0), q(30, 1)));
    }

    #[test]
    fn regular_and_irregular_steps() {
        let steps = |ts: &[i64]| {
            let mut r = Regularity::default();
            ts.iter().for_each(|&t| r.push(t));
            r.irregular()
        };
        assert!(!steps(&[0, 33, 67, 100, 133, 167])); // 29.97 fps in milliseconds
        assert!(!steps(&[0, 3003, 6006, 9009]));
        assert!(steps(&[0, 33, 100, 200, 233]));
        assert!(!steps(&[5]));
        assert!(!steps(&[]));
        // Decoding order with B-frames: sorted first, the tail dropped.
        assert!(!irregular_packets(vec![0, 3, 1, 2, 6, 4, 5, 9], 7));
        assert!(irregular_packets(vec![0, 2, 1, 5, 4, 8], 6));
    }
}
