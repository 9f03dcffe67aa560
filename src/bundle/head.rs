//! The fusion head: Linear layers with optional activations over the concatenated branch
//! features of one key frame, an optional sigmoid, and mean pooling over the key frames
//! (RQ-VQA `models.py`: `self.quality(x)` then `torch.mean(x, dim=1)`).

use std::sync::Arc;

use safetensors::{Dtype, SafeTensors};

use super::manifest::{Activation, ActivationStage, HeadSpec, OutputActivation};

/// Why a head's weights do not make the head the manifest describes.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    #[error("not a valid safetensors file: {0}")]
    NotSafetensors(#[source] Arc<safetensors::SafeTensorError>),
    #[error("layer {layer}: tensor \"{name}\" {problem}")]
    Tensor { layer: usize, name: String, problem: TensorProblem },
    #[error("the last layer has {0} outputs; the head must end in 1")]
    Outputs(usize),
}

/// What is wrong with one tensor of the head.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorProblem {
    #[error("is missing")]
    Missing,
    #[error("is {0}, float32 expected")]
    NotFloat32(String),
    #[error("has shape {found:?}, expected {expected}")]
    Shape { found: Vec<usize>, expected: String },
    #[error("holds NaN or infinite values")]
    NotFinite,
}

#[derive(Clone, Debug)]
pub struct Head {
    layers: Vec<Linear>,
    output_activation: OutputActivation,
    stage: ActivationStage,
}

#[derive(Clone, Debug)]
struct Linear {
    inputs: usize,
    outputs: usize,
    /// Row-major `[outputs, inputs]`, PyTorch's `nn.Linear.weight` layout.
    weight: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl Head {
    /// Builds the head from the manifest's description and the safetensors bytes, checking
    /// that every tensor exists, is float32 and chains from `input_dim` down to one output.
    pub fn from_safetensors(spec: &HeadSpec, bytes: &[u8]) -> Result<Head, HeadError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| HeadError::NotSafetensors(Arc::new(e)))?;
        let read = |layer: usize, name: &str, shape: &[usize]| -> Result<Vec<f32>, HeadError> {
            let tensor = |problem| HeadError::Tensor { layer, name: name.to_string(), problem };
            let view = tensors.tensor(name).map_err(|_| tensor(TensorProblem::Missing))?;
            if view.dtype() != Dtype::F32 {
                return Err(tensor(TensorProblem::NotFloat32(format!("{:?}", view.dtype()))));
            }
            if view.shape() != shape {
                let expected = format!("{shape:?}");
                return Err(tensor(TensorProblem::Shape { found: view.shape().to_vec(), expected }));
            }
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(tensor(TensorProblem::NotFinite));
            }
            Ok(values)
        };
        let mut layers = Vec::with_capacity(spec.layers.len());
        let mut inputs = spec.input_dim;
        for (i, layer) in spec.layers.iter().enumerate() {
            let tensor = |problem| HeadError::Tensor { layer: i, name: layer.weight.clone(), problem };
            let weight_view = tensors.tensor(&layer.weight).map_err(|_| tensor(TensorProblem::Missing))?;
            let outputs = match weight_view.shape() {
                [outputs, columns] if *columns == inputs => *outputs,
                shape => {
                    let expected = format!("[out, {inputs}] (the previous size)");
                    return Err(tensor(TensorProblem::Shape { found: shape.to_vec(), expected }));
                }
            };
            layers.push(Linear {
                inputs,
                outputs,
                weight: read(i, &layer.weight, &[outputs, inputs])?,
                bias: read(i, &layer.bias, &[outputs])?,
                activation: layer.activation,
            });
            inputs = outputs;
        }
        if inputs != 1 {
            return Err(HeadError::Outputs(inputs));
        }
        Ok(Head { layers, output_activation: spec.output_activation, stage: spec.activation_stage })
    }

    pub fn input_dim(&self) -> usize {
        self.layers[0].inputs
    }

    /// Each layer's `(weight, bias)` as PyTorch stores them (`[outputs, inputs]` row-major, then
    /// `[outputs]`): the starting point and the shapes for training (crate vsrqa-train).
    pub fn parameters(&self) -> Vec<(&[f32], &[f32])> {
        self.layers.iter().map(|l| (l.weight.as_slice(), l.bias.as_slice())).collect()
    }

    /// The head's raw output for one key frame's concatenated features (before the output
    /// activation). Dot products accumulate in f64; layer outputs are stored as f32 like
    /// PyTorch's.
    pub fn frame_output(&self, features: &[f32]) -> f32 {
        assert_eq!(features.len(), self.input_dim(), "feature length checked by the engine");
        let mut x = features.to_vec();
        for layer in &self.layers {
            x = (0..layer.outputs)
                .map(|o| {
                    let row = &layer.weight[o * layer.inputs..(o + 1) * layer.inputs];
                    let dot: f64 = row.iter().zip(&x).map(|(&w, &v)| f64::from(w) * f64::from(v)).sum();
                    apply(layer.activation, (dot + f64::from(layer.bias[o])) as f32)
                })
                .collect();
        }
        x[0]
    }

    /// The score reported for one key frame: its output with the output activation applied.
    pub fn frame_score(&self, output: f32) -> f64 {
        self.activate(f64::from(output))
    }

    /// The clip score from the key frames' raw outputs (already padded to the pooled count).
    pub fn clip_score(&self, outputs: &[f32]) -> f64 {
        let n = outputs.len() as f64;
        match self.stage {
            ActivationStage::PerFrame => outputs.iter().map(|&o| self.frame_score(o)).sum::<f64>() / n,
            ActivationStage::AfterPooling => self.activate(outputs.iter().map(|&o| f64::from(o)).sum::<f64>() / n),
        }
    }

    /// The clip score from the head's inputs the clip pools over: `rows` concatenated rows of
    /// `input_dim` features (a feature bank entry, `Session::pooled_features`).
    pub fn clip_score_of_rows(&self, rows: &[f32]) -> f64 {
        let outputs: Vec<f32> = rows.chunks_exact(self.input_dim()).map(|row| self.frame_output(row)).collect();
        self.clip_score(&outputs)
    }

    fn activate(&self, value: f64) -> f64 {
        match self.output_activation {
            OutputActivation::None => value,
            OutputActivation::Sigmoid => sigmoid(value),
        }
    }
}

/// The logistic function, as the head and its training (crate vsrqa-train) apply it.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn apply(activation: Activation, x: f32) -> f32 {
    match activation {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => sigmoid(f64::from(x)) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::manifest::{LayerSpec, TemporalPooling};
    use safetensors::tensor::TensorView;

    fn spec(activation: Activation, output: OutputActivation, stage: ActivationStage) -> HeadSpec {
        HeadSpec {
            weights: "head.safetensors".into(),
            input_dim: 3,
            layers: vec![
                LayerSpec { weight: "l0.weight".into(), bias: "l0.bias".into(), activation },
                LayerSpec { weight: "l1.weight".into(), bias: "l1.bias".into(), activation: Activation::None },
            ],
            output_activation: output,
            activation_stage: stage,
            temporal_pooling: TemporalPooling::Mean,
        }
    }

    fn weights(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(n, s, v)| (n.to_string(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
            .collect();
        let views: Vec<(String, TensorView)> =
            bytes.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap())).collect();
        safetensors::serialize(views, &None).unwrap()
    }

    fn small_head() -> Vec<u8> {
        // layer 0: 3 -> 2, layer 1: 2 -> 1.
        weights(&[
            ("l0.weight", vec![2, 3], vec![1.0, 0.0, -1.0, 0.5, 0.5, 0.5]),
            ("l0.bias", vec![2], vec![0.0, -1.0]),
            ("l1.weight", vec![1, 2], vec![2.0, 1.0]),
            ("l1.bias", vec![1], vec![0.25]),
        ])
    }

    #[test]
    fn forward_matches_hand_computation() {
        let head = Head::from_safetensors(
            &spec(Activation::None, OutputActivation::None, ActivationStage::PerFrame),
            &small_head(),
        )
        .unwrap();
        // x = [1, 2, 3]: h0 = 1 - 3 = -2, h1 = 0.5 * 6 - 1 = 2; out = 2 * -2 + 2 + 0.25 = -1.75.
        assert_eq!(head.frame_output(&[1.0, 2.0, 3.0]), -1.75);
        // With ReLU after layer 0: h = [0, 2]; out = 2.25.
        let relu = Head::from_safetensors(
            &spec(Activation::Relu, OutputActivation::None, ActivationStage::PerFrame),
            &small_head(),
        )
        .unwrap();
        assert_eq!(relu.frame_output(&[1.0, 2.0, 3.0]), 2.25);
    }

    #[test]
    fn sigmoid_stage_changes_the_pooled_score() {
        let outputs = [0.0f32, 2.0];
        let per_frame = Head::from_safetensors(
            &spec(Activation::None, OutputActivation::Sigmoid, ActivationStage::PerFrame),
            &small_head(),
        )
        .unwrap();
        let after = Head::from_safetensors(
            &spec(Activation::None, OutputActivation::Sigmoid, ActivationStage::AfterPooling),
            &small_head(),
        )
        .unwrap();
        // mean(sigmoid(0), sigmoid(2)) = (0.5 + 0.8807970779778823) / 2; sigmoid(mean) = sigmoid(1).
        assert!((per_frame.clip_score(&outputs) - 0.690_398_538_988_941_2).abs() < 1e-12);
        assert!((after.clip_score(&outputs) - 0.731_058_578_630_004_9).abs() < 1e-12);
        assert!((per_frame.frame_score(2.0) - 0.880_797_077_977_882_3).abs() < 1e-12);
    }

    #[test]
    fn bad_weights_are_named() {
        let s = spec(Activation::None, OutputActivation::None, ActivationStage::PerFrame);
        let missing = weights(&[("l0.weight", vec![2, 3], vec![0.0; 6])]);
        assert!(Head::from_safetensors(&s, &missing).unwrap_err().to_string().contains("l0.bias"));
        let wrong_in = weights(&[("l0.weight", vec![2, 4], vec![0.0; 8])]);
        assert!(Head::from_safetensors(&s, &wrong_in).unwrap_err().to_string().contains("expected [out, 3]"));
        assert!(Head::from_safetensors(&s, b"not safetensors").unwrap_err().to_string().contains("safetensors"));
        let mut nan = small_head();
        let tail = nan.len() - 4;
        nan[tail..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Head::from_safetensors(&s, &nan).unwrap_err().to_string().contains("NaN"));
    }
}
