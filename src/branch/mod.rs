//! One feature branch: how a frame is preprocessed for it, how its network input is assembled
//! (one key frame, or a window of frames), and the network that turns it into a feature vector.

use crate::backend::{Backend, Network};
use crate::bundle::{BranchSpec, NetworkFile, Scope};
use crate::error::{Error, Result};
use crate::frame::ops::FloatImage;
use crate::frame::RgbImage;
use crate::preprocess;
use crate::timing::{BranchTimes, Stopwatch};

pub struct Branch {
    pub spec: BranchSpec,
    network: Box<dyn Network>,
    /// The network's file, named when it computes something no feature can be.
    network_path: std::path::PathBuf,
    preprocess_time: Stopwatch,
    network_time: Stopwatch,
}

impl std::fmt::Debug for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Branch").field("name", &self.spec.name).finish_non_exhaustive()
    }
}

impl Branch {
    pub fn load(spec: &BranchSpec, file: &NetworkFile, backend: &dyn Backend) -> Result<Branch> {
        let network = backend.load_branch_network(&crate::backend::NetworkRequest {
            name: &spec.name,
            path: &file.path,
            sha256: &file.sha256,
            sample_shape: &spec.sample_shape(),
            max_batch: spec.clip.map_or(1, |clip| clip.segments),
        })?;
        Ok(Branch {
            spec: spec.clone(),
            network,
            network_path: file.path.clone(),
            preprocess_time: Stopwatch::default(),
            network_time: Stopwatch::default(),
        })
    }

    /// Why this branch's network runs on another backend than the engine's, if it does.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.network.fallback_reason()
    }

    /// What loading the network did that the log should say, if anything.
    pub fn load_note(&self) -> Option<&str> {
        self.network.load_note()
    }

    pub fn times(&self) -> BranchTimes {
        BranchTimes {
            name: self.spec.name.clone(),
            preprocess: self.preprocess_time.total(),
            network: self.network_time.total(),
        }
    }

    pub fn reset_times(&self) {
        self.preprocess_time.reset();
        self.network_time.reset();
    }

    /// Frames one sample of this branch spans: 1 for key-frame branches, T for windows and clip
    /// segments.
    pub fn frames_per_sample(&self) -> usize {
        match self.spec.scope {
            Scope::KeyFrame => 1,
            Scope::Window => self.spec.window.map_or(1, |w| w.frames),
            Scope::Clip => self.spec.clip.map_or(1, |c| c.frames),
        }
    }

    /// Preprocesses one frame into planar CHW floats of `input.height x input.width` (one such
    /// image per patch for `patch_grid` branches).
    pub fn preprocess(&self, frame: &RgbImage) -> Result<Vec<f32>> {
        self.preprocess_time.time(|| preprocess::run(&self.spec.preprocess, frame)).map_err(|e| self.named(e))
    }

    /// A preprocessing error with the branch's name, of the same kind (out of memory stays so).
    fn named(&self, error: Error) -> Error {
        let name = &self.spec.name;
        match error {
            Error::OutOfMemory(message) => Error::OutOfMemory(format!("branch '{name}': {message}")),
            Error::UnsupportedFrame(message) => Error::unsupported(format!("branch '{name}': {message}")),
            other => Error::unsupported(format!("branch '{name}': {other}")),
        }
    }

    /// A clip branch's frame as it is kept until the clip ends: the 8-bit image before `normalize`
    /// (bundle validation guarantees bytes there).
    pub fn clip_frame(&self, frame: &RgbImage) -> Result<Vec<u8>> {
        let images = self
            .preprocess_time
            .time(|| preprocess::geometry(&self.spec.preprocess, frame))
            .map_err(|e| self.named(e))?;
        match &images[..] {
            [image] => image.to_bytes().ok_or_else(|| {
                Error::Backend(format!("branch '{}': the preprocessed frame is not 8-bit", self.spec.name))
            }),
            _ => Err(Error::Backend(format!("branch '{}': a clip frame must be one image", self.spec.name))),
        }
    }

    /// A clip branch's feature from its sampled frames (from [`Branch::clip_frame`], in the order
    /// of `ClipSampling::frame_indices`): the segments as one batch, averaged (docs/bundle.md,
    /// "Clip branches").
    pub fn clip_feature(&self, sampled: &[&[u8]]) -> Result<Vec<f32>> {
        let clip = self.spec.clip.ok_or_else(|| Error::Backend("not a clip branch".into()))?;
        let (height, width) = (self.spec.input.height, self.spec.input.width);
        if sampled.len() != clip.segments * clip.frames {
            return Err(Error::Backend(format!("branch '{}': {} sampled frames", self.spec.name, sampled.len())));
        }
        let normalized: Vec<Vec<f32>> = self.preprocess_time.time(|| {
            sampled
                .iter()
                .map(|bytes| {
                    let image = FloatImage { width, height, data: bytes.iter().map(|&v| f32::from(v)).collect() };
                    let mut out = Vec::with_capacity(bytes.len());
                    preprocess::normalize(&self.spec.preprocess, &[image], &mut out);
                    out
                })
                .collect()
        });
        let mut batch = Vec::new();
        for segment in normalized.chunks(clip.frames) {
            let views: Vec<&[f32]> = segment.iter().map(Vec::as_slice).collect();
            self.assemble_sample(&views, &mut batch);
        }
        let features = self.features(clip.segments, &batch)?;
        let mut mean = vec![0f64; self.spec.output_dim];
        for feature in &features {
            for (m, &v) in mean.iter_mut().zip(feature) {
                *m += f64::from(v);
            }
        }
        Ok(mean.iter().map(|&m| (m / clip.segments as f64) as f32).collect())
    }

    /// Lays out one sample from its preprocessed frames: `[3, H, W]` (or `[P, 3, H, W]`) for a key
    /// frame, `[3, T, H, W]` for a window (channel-major, as the reference's `permute(0, 2, 1, 3, 4)`).
    pub fn assemble_sample(&self, frames: &[&[f32]], out: &mut Vec<f32>) {
        debug_assert_eq!(frames.len(), self.frames_per_sample());
        if let [frame] = frames {
            out.extend_from_slice(frame);
            return;
        }
        let plane = self.spec.input.height * self.spec.input.width;
        for c in 0..3 {
            for frame in frames {
                out.extend_from_slice(&frame[c * plane..(c + 1) * plane]);
            }
        }
    }

    /// Runs the network on `batch` assembled samples and returns one feature vector per
    /// sample, checking that the output is `[batch, output_dim]`.
    pub fn features(&self, batch: usize, input: &[f32]) -> Result<Vec<Vec<f32>>> {
        let output = self.network_time.time(|| self.network.run(batch, input))?;
        let dim = self.spec.output_dim;
        let expected_len = batch * dim;
        let ok_shape = output.shape.first() == Some(&batch) && output.shape.iter().skip(1).product::<usize>() == dim;
        if !ok_shape || output.data.len() != expected_len {
            return Err(Error::Backend(format!(
                "branch '{}': the network returned shape {:?}, the manifest says [{batch}, {dim}]",
                self.spec.name, output.shape
            )));
        }
        // Preprocessed frames are bounded, so an infinite or NaN feature comes from the bundle
        // (damaged weights, normalize constants that overflow): an error, never a NaN score.
        if let Some(index) = output.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::bundle(
                &self.network_path,
                format!(
                    "branch '{}' computed a non-finite feature ({} at index {index}): its weights or preprocessing \
                     constants are damaged",
                    self.spec.name, output.data[index]
                ),
            ));
        }
        Ok(output.data.chunks_exact(dim).map(<[f32]>::to_vec).collect())
    }
}

