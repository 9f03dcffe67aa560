//! The `vsrqa.json` manifest as Rust types (docs/bundle.md is the prose version). Unknown fields
//! are rejected so that a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};

use super::provenance::Provenance;
use crate::frame::ColorConversion;
pub use crate::preprocess::PreprocessOp;

pub const FORMAT_TAG: &str = "vsrqa-bundle";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default = "Profile::custom")]
    pub profile: Profile,
    pub key_frames: KeyFrames,
    pub branches: Vec<BranchSpec>,
    pub head: HeadSpec,
    /// Where the weights came from; `None` in bundles from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The YUV->RGB conversion of the frames the weights were trained on; `None` (bundles from
    /// before it was recorded, all exported from the published checkpoints): `reference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_conversion: Option<ColorConversion>,
    /// An ensemble's members (RQ-VQA's released models: ten trained runs). Each scores with the
    /// bundle's branches and head architecture, but with its own head weights and its own network
    /// for the branches it names (the fine-tuned spatial network); the other branches are shared
    /// and run once. The clip score is the members' mean. Empty: one model, the bundle's files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
}

/// One member of an ensemble (docs/bundle.md, "Ensembles").
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub name: String,
    /// The member's own network per branch name; a branch not named here is shared.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub networks: std::collections::BTreeMap<String, MemberNetwork>,
    /// The member's head weights (safetensors, the tensors `head.layers` names); absent: the
    /// bundle's `head.weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_weights: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemberNetwork {
    pub network: String,
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Profile {
    Full,
    Lite,
    Custom,
}

impl Profile {
    fn custom() -> Self {
        Profile::Custom
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyFrames {
    pub interval: KeyFrameInterval,
    /// Number of key frames pooled; `None` pools every key frame of the stream.
    pub count: Option<u32>,
    pub pad: Padding,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyFrameInterval {
    RoundedFps,
}

/// The arithmetic a network's graph computes in (tools/export/precision.py converts networks).
/// Every backend takes it from the graph's own types: TensorRT builds strongly typed engines, ONNX
/// Runtime and tract run the graph as stored. A network's input and output are fp32 whatever its
/// precision, so the backends feed and read it the same way.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Precision {
    #[default]
    Fp32,
    /// IEEE half precision, with fp32 where the converter keeps it.
    Fp16,
    /// bfloat16 (fp32's range, 8 bits of mantissa), with fp32 where the converter keeps it. Only
    /// GPUs run it: ONNX Runtime's CPU provider has no bf16 kernels.
    Bf16,
    /// fp32 arithmetic on 8-bit weights: the linear layers' weights stored as int8 with one scale
    /// per output channel (DequantizeLinear).
    Int8Weights,
    /// ONNX Runtime's dynamic quantization: int8 weights, activations quantized at run time, integer
    /// products (MatMulInteger). For ONNX Runtime on the CPU.
    Int8Dynamic,
}

impl Precision {
    pub fn is_fp32(&self) -> bool {
        *self == Precision::Fp32
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Int8Weights => "int8_weights",
            Precision::Int8Dynamic => "int8_dynamic",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Padding {
    RepeatLast,
    None,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BranchSpec {
    pub name: String,
    pub kind: BranchKind,
    pub scope: Scope,
    #[serde(default)]
    pub window: Option<Window>,
    #[serde(default)]
    pub clip: Option<ClipSampling>,
    pub network: String,
    /// The network's arithmetic precision (its input and output stay fp32); absent: fp32.
    #[serde(default, skip_serializing_if = "Precision::is_fp32")]
    pub precision: Precision,
    #[serde(default)]
    pub sha256: Option<String>,
    pub input: InputGeometry,
    pub preprocess: Vec<PreprocessOp>,
    pub output_dim: usize,
}

impl BranchSpec {
    /// One sample's input shape, without the batch dimension: `[3, H, W]` for a key frame,
    /// `[3, T, H, W]` for a window or clip of T frames, `[images, 3, H, W]` for a frame made
    /// several images (what the network's input must accept after `N`).
    pub fn sample_shape(&self) -> Vec<usize> {
        let (h, w) = (self.input.height, self.input.width);
        match (self.scope, self.window, self.clip, self.images_per_frame()) {
            (Scope::Window, Some(window), _, _) => vec![3, window.frames, h, w],
            (Scope::Clip, _, Some(clip), _) => vec![3, clip.frames, h, w],
            (_, _, _, Some(patches)) => vec![patches, 3, h, w],
            _ => vec![3, h, w],
        }
    }

    /// The number of images one frame becomes (`patch_grid` patches, `split_halves` halves), if
    /// the branch turns a frame into several; the sample is then `[images, 3, H, W]`.
    pub fn images_per_frame(&self) -> Option<usize> {
        self.preprocess.iter().find_map(PreprocessOp::images_per_image)
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BranchKind {
    Spatial,
    Slowfast,
    Fastvqa,
    Liqe,
    Qalign,
    Generic,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    KeyFrame,
    Window,
    /// One feature for the whole clip, from frames sampled over all of it (FAST-VQA); every key
    /// frame's slot gets it.
    Clip,
}

/// FAST-VQA's temporal sampling (docs/bundle.md, "Clip branches"): `segments` segments of `frames`
/// frames at `interval`, segment `i` starting at `(n / segments) * i` plus the middle of the free
/// range; indices wrap modulo the clip length. The branch feature is the mean over the segments.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClipSampling {
    pub segments: usize,
    pub frames: usize,
    pub interval: usize,
}

impl ClipSampling {
    /// The frame indices of each segment, in order, for a clip of `n_frames` (at least 1).
    pub fn frame_indices(&self, n_frames: u64) -> Vec<u64> {
        let (segments, frames, interval) = (self.segments as u64, self.frames as u64, self.interval as u64);
        let length = n_frames / segments;
        let used = frames * interval;
        let offset = if length > used { (length - used) / 2 } else { 0 };
        (0..segments).flat_map(|i| (0..frames).map(move |k| (length * i + offset + k * interval) % n_frames)).collect()
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub frames: usize,
    /// What a key frame gets when the clip ends before its interval (the frames up to the next
    /// key frame) is complete.
    #[serde(default)]
    pub partial_interval: PartialInterval,
}

/// docs/bundle.md, "Windows".
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PartialInterval {
    /// Its own window, the missing frames repeating the clip's last frame.
    #[default]
    PadWithLastFrame,
    /// The window features of the last key frame whose interval is complete (RQ-VQA's SlowFast:
    /// chunks only for whole seconds). A clip with no complete interval gives key frame 0 its
    /// own padded window.
    ReusePrevious,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InputGeometry {
    pub height: usize,
    pub width: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeadSpec {
    pub weights: String,
    pub input_dim: usize,
    pub layers: Vec<LayerSpec>,
    pub output_activation: OutputActivation,
    pub activation_stage: ActivationStage,
    pub temporal_pooling: TemporalPooling,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub weight: String,
    pub bias: String,
    pub activation: Activation,
}

// The head's activations are exhaustive, unlike the manifest's other enums: the head's arithmetic
// lives twice (bundle/head.rs and the trainer, crates/vsrqa-train, with its derivatives), and a new
// variant must fail to compile in both rather than reach a trainer that cannot differentiate it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    None,
    Relu,
    Tanh,
    Sigmoid,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputActivation {
    None,
    Sigmoid,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActivationStage {
    PerFrame,
    AfterPooling,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TemporalPooling {
    Mean,
}
