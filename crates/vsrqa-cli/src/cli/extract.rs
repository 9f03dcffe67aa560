//! One video through a session, for `vsrqa features` and `vsrqa eval`: every frame decoded and
//! pushed, then the clip score and the head's pooled inputs. Unlike `vsrqa score`, a stream that
//! breaks mid-way is a failure here: a truncated video must not enter a training set. A video is
//! one clip, as the reference trains and evaluates (its clips are about the model's span, 8 s);
//! a longer one is used whole and the caller warns that its features cover its first 8 seconds.

use std::path::{Path, PathBuf};

use vsrqa::backend::BackendKind;
use vsrqa::{ClipScore, Engine, EngineOptions};
use vsrqa_train::Decoding;

use super::decoding::DecodingArgs;
use super::input::{Clip, RawOptions};
use super::Failure;

/// The model and how to run it, as `features` and `eval` take them.
#[derive(clap::Args)]
pub struct EngineArgs {
    /// The model bundle directory.
    #[arg(long, short = 'm', value_name = "DIR")]
    pub model: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

impl EngineArgs {
    /// The backend asked for (a usage error when unknown; checked before any file is read).
    pub fn backend(&self) -> Result<BackendKind, Failure> {
        self.run.backend()
    }

    pub fn engine(&self, backend: BackendKind) -> Result<Engine, Failure> {
        self.run.engine(&self.model, backend)
    }

    pub fn decoding(&self, engine: &Engine) -> Result<Decoding, Failure> {
        self.run.decoding(engine)
    }
}

/// How to run a model: the backend and its threads (`compare` runs two models with one).
#[derive(clap::Args)]
pub struct RunArgs {
    /// auto, cpu (tract), onnxruntime (its library from ORT_DYLIB_PATH or ~/.cache/vsrqa) or tensorrt.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// CPU threads per network run (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// An ensemble bundle's members to run, by name (comma-separated); default: all of them.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    members: Option<Vec<String>>,
    #[command(flatten)]
    decoding: DecodingArgs,
}

impl RunArgs {
    /// The backend asked for, and that the decoding options' names are known (usage errors,
    /// checked before any file is read).
    pub fn backend(&self) -> Result<BackendKind, Failure> {
        self.decoding.check_names()?;
        self.backend.parse().map_err(|e: vsrqa::Error| Failure::usage(e.to_string()))
    }

    pub fn engine(&self, model: &Path, backend: BackendKind) -> Result<Engine, Failure> {
        Ok(Engine::new(
            model,
            EngineOptions {
                backend,
                threads: self.threads,
                gpu: super::gpu_options(),
                color_conversion: self.decoding.conversion()?,
                members: self.members.clone(),
                ..EngineOptions::default()
            },
        )?)
    }

    /// How files are decoded for `engine` (made by [`RunArgs::engine`]).
    pub fn decoding(&self, engine: &Engine) -> Result<Decoding, Failure> {
        self.decoding.decoding(engine.color_conversion())
    }
}

pub struct Extracted {
    pub score: ClipScore,
    /// What the clip score leaves out, for a video longer than the model's span.
    pub warning: Option<String>,
    /// The frames the key frames span: the first `frames_used` of the video.
    pub frames_used: u64,
    /// The rows the clip score pooled over, concatenated.
    pub features: Vec<f32>,
    pub rows: usize,
}

/// The video as a file says it is (no raw-frame options: lists name real video files), decoded
/// as `decoding` says (the engine's YUV->RGB conversion).
pub fn extract(engine: &Engine, path: &Path, decoding: &Decoding) -> Result<Extracted, String> {
    let options = RawOptions::decoded(decoding);
    let mut clip = Clip::open(path, &options).map_err(|f| f.message)?;
    let mut session = engine.session(clip.fps).map_err(|e| e.to_string())?;
    let mut index = 0u64;
    while let Some(frame) = clip.next_frame().map_err(|f| f.message)? {
        session.push(frame).map_err(|e| format!("frame {index}: {e}"))?;
        index += 1;
    }
    if index == 0 {
        return Err("the video has no frames".into());
    }
    let score = session.finish().map_err(|e| e.to_string())?;
    let rows = session.pooled_features().expect("the session has finished");
    let warning = vsrqa::engine::span_frames(engine.bundle(), clip.fps).filter(|&span| index > span).map(|span| {
        format!(
            "{}: {index} frames, past the model's span of {span}: its features are those of its first {span} frames              (the reference's rule for training clips; the rest counts only through clip branches' samples).              `vsrqa score` scores a long video in windows",
            path.display()
        )
    });
    let frames_used = (u64::from(score.key_frames) * vsrqa::Session::key_frame_interval(clip.fps)).min(index);
    Ok(Extracted { score, warning, frames_used, rows: rows.len(), features: rows.concat() })
}
