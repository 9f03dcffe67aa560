//! A long video's score from the scores of its windows (or segments), each a clip of its own.
//!
//! The model pools a fixed number of key frames (8 at one per second: 8 seconds), as the
//! reference scores a clip. A longer video is scored in consecutive windows of that span, and its
//! score pools the windows' scores. Every pooling weighs a window by its frames, so that each
//! frame of the video counts the same and a short last window counts for what it holds.

use std::fmt;
use std::str::FromStr;

use super::session::{ClipScore, Session};
use crate::bundle::Bundle;
use crate::error::{Error, Result};

/// How the windows' scores make the video's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Pooling {
    /// The frame-weighted mean: the default, the score a viewer's average impression follows.
    #[default]
    Mean,
    /// The frame-weighted harmonic mean: low windows pull it down more than the mean (VMAF's
    /// `harmonic_mean` pooling).
    HarmonicMean,
    /// The lowest window: the worst stretch of the video.
    Min,
    /// The `p`-th percentile (0 < p < 100) of the scores of the video's frames, each frame
    /// carrying its window's score (nearest rank): `p10` is a score that 90% of the video is at
    /// or above.
    Percentile(u8),
}

impl Pooling {
    /// `mean`, `harmonic_mean`, `min`, or `p1` to `p99`.
    pub fn parse(name: &str) -> Result<Pooling> {
        let pooling = match name {
            "mean" => Pooling::Mean,
            "harmonic_mean" => Pooling::HarmonicMean,
            "min" => Pooling::Min,
            _ => match name.strip_prefix('p').and_then(|p| p.parse::<u8>().ok()) {
                Some(p) if (1..=99).contains(&p) && name == format!("p{p}") => Pooling::Percentile(p),
                _ => {
                    return Err(Error::invalid(format!(
                        "pooling \"{name}\": use mean, harmonic_mean, min, or a percentile p1 to p99 (p10: the score \
                         90% of the video is at or above)"
                    )))
                }
            },
        };
        Ok(pooling)
    }

    /// The video's score from its windows' (at least one). One window's score is returned as it
    /// is, to the bit: a video within the model's span scores as the clip it is.
    pub fn pool(self, windows: &[ClipScore]) -> Option<f64> {
        match windows {
            [] => None,
            [only] => Some(only.score),
            _ => Some(self.pool_many(windows)),
        }
    }

    /// The video's clip score from its windows' (at least one): the pooled score, the summed
    /// counts, and each ensemble member's scores pooled the same way. One window is returned as
    /// it is.
    pub fn pool_clips(self, windows: &[ClipScore]) -> Option<ClipScore> {
        let score = self.pool(windows)?;
        let sum = |count: fn(&ClipScore) -> u32| windows.iter().map(count).sum();
        let mut pooled = ClipScore::new(
            score,
            windows.iter().map(|w| w.frames).sum(),
            sum(|w| w.key_frames),
            sum(|w| w.pooled_slots),
        );
        let members = windows[0].member_scores.len();
        if windows.iter().all(|w| w.member_scores.len() == members) {
            pooled.member_scores = (0..members)
                .map(|m| {
                    let member: Vec<ClipScore> =
                        windows.iter().map(|w| ClipScore::new(w.member_scores[m], w.frames, 0, 0)).collect();
                    self.pool(&member).expect("at least one window")
                })
                .collect();
        }
        Some(pooled)
    }

    fn pool_many(self, windows: &[ClipScore]) -> f64 {
        let frames: f64 = windows.iter().map(|w| w.frames as f64).sum();
        match self {
            Pooling::Mean => windows.iter().map(|w| w.score * w.frames as f64).sum::<f64>() / frames,
            Pooling::HarmonicMean => {
                // A zero score makes the harmonic mean zero (1 / infinity), as it should.
                frames / windows.iter().map(|w| w.frames as f64 / w.score).sum::<f64>()
            }
            Pooling::Min => windows.iter().map(|w| w.score).fold(f64::INFINITY, f64::min),
            Pooling::Percentile(p) => {
                let mut sorted: Vec<&ClipScore> = windows.iter().collect();
                sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
                // Nearest rank over the frames: the smallest score whose frames reach p% of them.
                let rank = (f64::from(p) / 100.0 * frames).ceil().max(1.0);
                let mut reached = 0.0;
                for window in &sorted {
                    reached += window.frames as f64;
                    if reached >= rank {
                        return window.score;
                    }
                }
                sorted.last().expect("at least two windows").score
            }
        }
    }
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pooling::Mean => f.write_str("mean"),
            Pooling::HarmonicMean => f.write_str("harmonic_mean"),
            Pooling::Min => f.write_str("min"),
            Pooling::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

impl FromStr for Pooling {
    type Err = Error;

    fn from_str(name: &str) -> Result<Pooling> {
        Pooling::parse(name)
    }
}

/// The frames the model's clip score spans at `fps`: its fixed key-frame count times the key-frame
/// interval (`round(fps)`), 240 for 8 key frames at 30 fps. `None` when the bundle pools every key
/// frame (no fixed count): a clip of any length is then scored whole.
pub fn span_frames(bundle: &Bundle, fps: f64) -> Option<u64> {
    let count = bundle.manifest.key_frames.count?;
    Some(u64::from(count) * Session::key_frame_interval(fps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(score: f64, frames: u64) -> ClipScore {
        ClipScore::new(score, frames, 1, 8)
    }

    #[test]
    fn members_pool_as_the_score_does() {
        let with_members = |score: f64, frames: u64, members: [f64; 2]| {
            let mut clip = window(score, frames);
            clip.member_scores = members.to_vec();
            clip
        };
        let windows = [with_members(0.5, 240, [0.4, 0.6]), with_members(0.3, 60, [0.2, 0.4])];
        for pooling in [Pooling::Mean, Pooling::HarmonicMean, Pooling::Min, Pooling::Percentile(50)] {
            let pooled = pooling.pool_clips(&windows).unwrap();
            assert_eq!(pooled.score, pooling.pool(&windows).unwrap(), "{pooling}");
            assert_eq!((pooled.frames, pooled.key_frames, pooled.pooled_slots), (300, 2, 16));
            for m in 0..2 {
                let member = [window(windows[0].member_scores[m], 240), window(windows[1].member_scores[m], 60)];
                assert_eq!(pooled.member_scores[m], pooling.pool(&member).unwrap(), "{pooling} member {m}");
            }
        }
        assert_eq!(Pooling::Mean.pool_clips(&windows[..1]).unwrap().member_scores, vec![0.4, 0.6]);
        assert!(Pooling::Mean.pool_clips(&[]).is_none());
        // A plain bundle's windows have no members, and neither has their pooling.
        assert!(Pooling::Mean.pool_clips(&[window(0.5, 10), window(0.7, 10)]).unwrap().member_scores.is_empty());
    }

    #[test]
    fn names_parse_and_print_back() {
        for name in ["mean", "harmonic_mean", "min", "p1", "p10", "p50", "p99"] {
            assert_eq!(Pooling::parse(name).unwrap().to_string(), name);
        }
        for bad in ["", "median", "p0", "p100", "p05", "p", "P10", "p10.5", "harmonic"] {
            let error = Pooling::parse(bad).unwrap_err().to_string();
            assert!(error.contains("use mean, harmonic_mean, min"), "{bad}: {error}");
        }
        assert_eq!(Pooling::default(), Pooling::Mean);
    }

    #[test]
    fn one_window_is_its_own_score_to_the_bit() {
        // 0.3261441907182996 * 60 / 60 is the next double up: a weighted mean would move it.
        let score = 0.3261441907182996;
        for pooling in [Pooling::Mean, Pooling::HarmonicMean, Pooling::Min, Pooling::Percentile(10)] {
            assert_eq!(pooling.pool(&[window(score, 60)]), Some(score), "{pooling}");
        }
        assert_eq!(Pooling::Mean.pool(&[]), None);
    }

    #[test]
    fn windows_weigh_by_their_frames() {
        // 240 frames at 0.8, 240 at 0.4, a last window of 60 frames at 0.2.
        let windows = [window(0.8, 240), window(0.4, 240), window(0.2, 60)];
        let mean = Pooling::Mean.pool(&windows).unwrap();
        assert!((mean - (0.8 * 240.0 + 0.4 * 240.0 + 0.2 * 60.0) / 540.0).abs() < 1e-15, "{mean}");
        let harmonic = Pooling::HarmonicMean.pool(&windows).unwrap();
        assert!((harmonic - 540.0 / (240.0 / 0.8 + 240.0 / 0.4 + 60.0 / 0.2)).abs() < 1e-15, "{harmonic}");
        assert!(harmonic < mean);
        assert_eq!(Pooling::Min.pool(&windows), Some(0.2));
        // Sorted by score, the frames reach 60 (0.2), 300 (0.4), 540 (0.8): p10 is rank 54, p50
        // rank 270, p60 rank 324.
        assert_eq!(Pooling::Percentile(10).pool(&windows), Some(0.2));
        assert_eq!(Pooling::Percentile(12).pool(&windows), Some(0.4));
        assert_eq!(Pooling::Percentile(50).pool(&windows), Some(0.4));
        assert_eq!(Pooling::Percentile(60).pool(&windows), Some(0.8));
        let zero = [window(0.0, 10), window(0.9, 10)];
        assert_eq!(Pooling::HarmonicMean.pool(&zero), Some(0.0));
    }
}
