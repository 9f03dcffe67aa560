//! One video through a session, for `vsrqa features` and `vsrqa eval`: every frame decoded and
//! pushed, then the clip score and the head's pooled inputs. Unlike `vsrqa score`, a stream that
//! breaks mid-way is a failure here: a truncated video must not enter a training set.

use std::path::{Path, PathBuf};

use vsrqa::backend::BackendKind;
use vsrqa::{ClipScore, Engine, EngineOptions};

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
        Ok(self.run.engine(&self.model, backend)?)
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
}

impl RunArgs {
    /// The backend asked for (a usage error when unknown; checked before any file is read).
    pub fn backend(&self) -> Result<BackendKind, Failure> {
        self.backend.parse().map_err(|e: vsrqa::Error| Failure::usage(e.to_string()))
    }

    pub fn engine(&self, model: &Path, backend: BackendKind) -> vsrqa::Result<Engine> {
        Engine::new(
            model,
            EngineOptions { backend, threads: self.threads, gpu: super::gpu_options(), ..EngineOptions::default() },
        )
    }
}

pub struct Extracted {
    pub score: ClipScore,
    /// The rows the clip score pooled over, concatenated.
    pub features: Vec<f32>,
    pub rows: usize,
}

/// The video as a file says it is (no raw-frame options: lists name real video files).
pub fn extract(engine: &Engine, path: &Path) -> Result<Extracted, String> {
    let mut clip = Clip::open(path, &RawOptions::default()).map_err(|f| f.message)?;
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
    Ok(Extracted { score, rows: rows.len(), features: rows.concat() })
}
