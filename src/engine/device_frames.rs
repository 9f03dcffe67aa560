//! Frames in device memory (`Session::push_device`, the C API's `VSRQA_MEMORY_CUDA`): converted
//! and preprocessed by the GPU kernels (gpu/kernels) on the engine's kernel executor, so
//! the frame itself never comes to the host; only each branch's network input (or a clip
//! branch's small 8-bit image) does, to join the session's windows and clips.
//!
//! The executor comes from `EngineOptions::device_frames` or, by default, from the backend (the
//! `tensorrt` backend's stream). It is made at the first device frame. Plans are kept per branch
//! and frame size; a branch whose op list has no kernel for this size (FAST-VQA on frames smaller
//! than its mosaic) is preprocessed on the CPU from the converted frame.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::backend::GpuError;
use crate::branch::Branch;
use crate::error::{Error, Result};
use crate::frame::{ColorConversion, DeviceFrame, RgbImage};
use crate::gpu::kernels::{KernelExecutor, KernelExecutorFactory};
use crate::gpu::plan::{FrameConverter, PreparedPlan, PreprocessPlan};

/// Distinct frame sizes whose buffers are kept; a new size beyond this starts afresh (a stream
/// whose size keeps changing must not grow device memory without bound).
const MAX_SIZES: usize = 4;

pub(crate) struct DeviceFrames {
    factory: KernelExecutorFactory,
    conversion: ColorConversion,
    state: Mutex<Option<State>>,
}

struct State {
    executor: Box<dyn KernelExecutor>,
    converter: FrameConverter,
    /// The converted frame's buffer per frame size.
    rgb: HashMap<(u32, u32), u64>,
    /// Per (branch, geometry only, frame size): the prepared plan and its output buffer, or why
    /// there is none.
    plans: HashMap<PlanKey, std::result::Result<(PreparedPlan, u64), GpuError>>,
}

/// What one device frame gives the session: the network inputs of the branches asked for, and
/// the 8-bit images of the clip branches asked for.
pub(crate) struct Inputs {
    pub per_branch: Vec<Option<Vec<f32>>>,
    pub clip_frames: Vec<Vec<u8>>,
}

fn failed(error: GpuError) -> Error {
    Error::Gpu(error.context("frames in device memory"))
}

impl DeviceFrames {
    pub(crate) fn new(factory: KernelExecutorFactory, conversion: ColorConversion) -> DeviceFrames {
        DeviceFrames { factory, conversion, state: Mutex::new(None) }
    }

    /// Preprocesses `frame` for the branches where `needed[b]`, and keeps the geometry of
    /// `clip_branches` (indices into `branches`).
    pub(crate) fn preprocess(
        &self,
        frame: &DeviceFrame,
        branches: &[Branch],
        needed: &[bool],
        clip_branches: &[usize],
    ) -> Result<Inputs> {
        frame.validate()?;
        let mut guard = self
            .state
            .lock()
            .map_err(|_| Error::Backend("frames in device memory: a previous frame panicked".into()))?;
        let size = (frame.width, frame.height);
        let reset = match guard.as_ref() {
            None => true,
            Some(state) => !state.rgb.contains_key(&size) && state.rgb.len() >= MAX_SIZES,
        };
        if reset {
            // Dropping the old executor frees its buffers.
            *guard = None;
            let executor = (self.factory)().map_err(failed)?;
            *guard = Some(State {
                executor,
                converter: FrameConverter::new(self.conversion),
                rgb: HashMap::new(),
                plans: HashMap::new(),
            });
        }
        let state = guard.as_mut().expect("made above");
        state.run(frame, branches, needed, clip_branches)
    }
}

impl State {
    fn run(
        &mut self,
        frame: &DeviceFrame,
        branches: &[Branch],
        needed: &[bool],
        clip_branches: &[usize],
    ) -> Result<Inputs> {
        let (w, h) = (frame.width, frame.height);
        let bytes = w as usize * h as usize * 3;
        let rgb = match self.rgb.get(&(w, h)) {
            Some(&address) => address,
            None => {
                let address = self.executor.alloc(bytes).map_err(failed)?;
                self.rgb.insert((w, h), address);
                address
            }
        };
        self.converter.convert(self.executor.as_mut(), frame, rgb).map_err(failed)?;
        // The converted frame on the host, only if some branch has no kernel for this size.
        let mut host_rgb: Option<RgbImage> = None;

        let mut per_branch = vec![None; branches.len()];
        for (b, branch) in branches.iter().enumerate().filter(|&(b, _)| needed[b]) {
            let key = self.plan(branches, b, false, w, h);
            let executor = self.executor.as_mut();
            per_branch[b] = Some(match &self.plans[&key] {
                Ok((plan, output)) => {
                    plan.run(executor, rgb, *output).map_err(failed)?;
                    let raw = executor.download(*output, plan.output_floats() * 4).map_err(failed)?;
                    raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
                }
                Err(_) => branch.preprocess(host_copy(executor, &mut host_rgb, rgb, w, h)?)?,
            });
        }
        let mut clip_frames = Vec::with_capacity(clip_branches.len());
        for &b in clip_branches {
            let key = self.plan(branches, b, true, w, h);
            let executor = self.executor.as_mut();
            clip_frames.push(match &self.plans[&key] {
                Ok((plan, output)) => {
                    plan.run(executor, rgb, *output).map_err(failed)?;
                    let (address, bytes) = plan
                        .final_image(rgb)
                        .ok_or_else(|| failed(GpuError::Unsupported("a clip frame must be one image".into())))?;
                    executor.download(address, bytes).map_err(failed)?
                }
                Err(_) => branches[b].clip_frame(host_copy(executor, &mut host_rgb, rgb, w, h)?)?,
            });
        }
        Ok(Inputs { per_branch, clip_frames })
    }

    /// Makes (once) the prepared plan of branch `b` for `w x h` frames, or records why there is
    /// none; returns its key in `plans`.
    fn plan(&mut self, branches: &[Branch], b: usize, geometry: bool, w: u32, h: u32) -> PlanKey {
        let key = (b, geometry, w, h);
        if !self.plans.contains_key(&key) {
            let ops = &branches[b].spec.preprocess;
            let plan = if geometry {
                PreprocessPlan::geometry(ops, w as usize, h as usize)
            } else {
                PreprocessPlan::new(ops, w as usize, h as usize)
            };
            let executor = self.executor.as_mut();
            let prepared = plan.and_then(|plan| {
                let prepared = plan.prepare(executor)?;
                let output = executor.alloc(prepared.output_floats().max(1) * 4)?;
                Ok((prepared, output))
            });
            self.plans.insert(key, prepared);
        }
        key
    }
}

type PlanKey = (usize, bool, u32, u32);

/// The converted frame copied to the host once (for branches without a kernel at this size).
fn host_copy<'a>(
    executor: &mut dyn KernelExecutor,
    cache: &'a mut Option<RgbImage>,
    rgb: u64,
    w: u32,
    h: u32,
) -> Result<&'a RgbImage> {
    if cache.is_none() {
        let data = executor.download(rgb, w as usize * h as usize * 3).map_err(failed)?;
        *cache = Some(RgbImage { width: w as usize, height: h as usize, data });
    }
    Ok(cache.as_ref().expect("filled above"))
}
