//! One video through a session, for `vsrqa features` and `vsrqa eval`: every frame decoded and
//! pushed, then the clip score and the head's pooled inputs. Unlike `vsrqa score`, a stream that
//! breaks mid-way is a failure here: a truncated video must not enter a training set.

use std::path::Path;

use vsrqa::{ClipScore, Engine};

use super::input::{Clip, RawOptions};

pub struct Extracted {
    pub score: ClipScore,
    /// The rows the clip score pooled over, concatenated.
    pub features: Vec<f32>,
    pub rows: usize,
}

pub fn extract(engine: &Engine, path: &Path, options: &RawOptions) -> Result<Extracted, String> {
    let mut clip = Clip::open(path, options).map_err(|f| f.message)?;
    let mut session = engine.session(clip.fps).map_err(|e| e.to_string())?;
    let mut index = 0u64;
    while let Some(frame) = clip.next_frame().map_err(|f| f.message)? {
        session.push(&frame).map_err(|e| format!("frame {index}: {e}"))?;
        index += 1;
    }
    if index == 0 {
        return Err("the video has no frames".into());
    }
    let score = session.finish().map_err(|e| e.to_string())?;
    let rows = session.pooled_features().expect("the session has finished");
    Ok(Extracted { score, rows: rows.len(), features: rows.concat() })
}
