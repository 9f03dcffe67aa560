//! The fusion head as a trainable model: the same layers, activations, output activation and
//! pooling as [`vsrqa::bundle::head::Head`], in f64, with a hand-written backward pass (checked against
//! finite differences in tests/train_head.rs). A sample is one video: the rows of concatenated
//! branch features the clip score pools over (a feature bank entry).

use rand::{Rng, RngExt};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use vsrqa::bundle::head::{sigmoid, Head};
use vsrqa::bundle::{Activation, ActivationStage, HeadSpec, OutputActivation};

/// The head's architecture: the manifest's description plus each layer's output size (the
/// manifest leaves sizes to the weight shapes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub spec: HeadSpec,
    pub layer_outputs: Vec<usize>,
}

impl Architecture {
    pub fn of(spec: &HeadSpec, head: &Head) -> Architecture {
        Architecture { spec: spec.clone(), layer_outputs: head.parameters().iter().map(|(_, b)| b.len()).collect() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// `[outputs, inputs]` row-major, as `nn.Linear.weight`.
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub activation: Activation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeadModel {
    pub layers: Vec<Dense>,
    pub output_activation: OutputActivation,
    pub stage: ActivationStage,
}

/// One video: `rows` rows of `dim` features, row-major.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    pub features: &'a [f32],
    pub rows: usize,
}

/// A video's forward pass: its prediction and, per row, the raw output and every layer's output.
pub struct Forward {
    pub prediction: f64,
    rows: Vec<(f64, Vec<Vec<f64>>)>,
}

/// Gradients with the model's layout: per layer `(d weight, d bias)`.
pub type Gradients = Vec<(Vec<f64>, Vec<f64>)>;

impl HeadModel {
    /// PyTorch's default `nn.Linear` initialization, from `rng`: weights and biases uniform in
    /// `[-1/sqrt(inputs), 1/sqrt(inputs)]` (kaiming_uniform with a = sqrt(5) reduces to that).
    pub fn random(architecture: &Architecture, rng: &mut impl Rng) -> Result<HeadModel> {
        let spec = &architecture.spec;
        if spec.layers.len() != architecture.layer_outputs.len() || spec.layers.is_empty() {
            return Err(Error::invalid("the head architecture lists a different number of layers and sizes"));
        }
        if architecture.layer_outputs.last() != Some(&1) {
            return Err(Error::invalid("the head's last layer must have one output"));
        }
        let mut inputs = spec.input_dim;
        let mut layers = Vec::new();
        for (layer, &outputs) in spec.layers.iter().zip(&architecture.layer_outputs) {
            let bound = 1.0 / (inputs as f64).sqrt();
            let mut uniform = |n: usize| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<f64>>();
            let weight = uniform(outputs * inputs);
            let bias = uniform(outputs);
            layers.push(Dense { inputs, outputs, weight, bias, activation: layer.activation });
            inputs = outputs;
        }
        Ok(HeadModel { layers, output_activation: spec.output_activation, stage: spec.activation_stage })
    }

    /// The weights of an existing head (to fine-tune it rather than start afresh).
    pub fn from_head(spec: &HeadSpec, head: &Head) -> HeadModel {
        let mut inputs = spec.input_dim;
        let layers = head
            .parameters()
            .into_iter()
            .zip(&spec.layers)
            .map(|((weight, bias), layer)| {
                let dense = Dense {
                    inputs,
                    outputs: bias.len(),
                    weight: weight.iter().map(|&w| f64::from(w)).collect(),
                    bias: bias.iter().map(|&b| f64::from(b)).collect(),
                    activation: layer.activation,
                };
                inputs = bias.len();
                dense
            })
            .collect();
        HeadModel { layers, output_activation: spec.output_activation, stage: spec.activation_stage }
    }

    pub fn input_dim(&self) -> usize {
        self.layers[0].inputs
    }

    /// The clip score of one video, as the engine computes it with this head.
    pub fn predict(&self, sample: Sample<'_>) -> f64 {
        let outputs: Vec<f64> = (0..sample.rows).map(|r| self.forward_row(self.row(sample, r)).0).collect();
        self.pool(&outputs)
    }

    /// The prediction for one video, keeping what the backward pass needs.
    pub fn forward(&self, sample: Sample<'_>) -> Forward {
        let rows: Vec<(f64, Vec<Vec<f64>>)> = (0..sample.rows).map(|r| self.forward_row(self.row(sample, r))).collect();
        let outputs: Vec<f64> = rows.iter().map(|r| r.0).collect();
        Forward { prediction: self.pool(&outputs), rows }
    }

    /// Adds `upstream * d prediction / d parameters` for one video to `gradients`.
    pub fn accumulate_gradient(&self, sample: Sample<'_>, upstream: f64, gradients: &mut Gradients) {
        let forward = self.forward(sample);
        self.backward(sample, &forward, upstream, gradients);
    }

    /// The backward pass of [`HeadModel::forward`]: adds `upstream * d prediction / d parameters`.
    pub fn backward(&self, sample: Sample<'_>, forward: &Forward, upstream: f64, gradients: &mut Gradients) {
        let n = sample.rows as f64;
        let outputs = &forward.rows;
        let pooled_raw = outputs.iter().map(|o| o.0).sum::<f64>() / n;
        for (r, (output, activations)) in outputs.iter().enumerate() {
            // d prediction / d this row's raw output.
            let d_output = match self.stage {
                ActivationStage::PerFrame => output_derivative(self.output_activation, *output) / n,
                ActivationStage::AfterPooling => output_derivative(self.output_activation, pooled_raw) / n,
            };
            self.backward_row(self.row(sample, r), activations, upstream * d_output, gradients);
        }
    }

    pub fn zero_gradients(&self) -> Gradients {
        self.layers.iter().map(|l| (vec![0.0; l.weight.len()], vec![0.0; l.bias.len()])).collect()
    }

    /// The weights as a safetensors file, with the tensor names of `spec` (float32).
    pub fn to_safetensors(&self, spec: &HeadSpec) -> Result<Vec<u8>> {
        let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (layer, names) in self.layers.iter().zip(&spec.layers) {
            let bytes = |values: &[f64]| values.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect::<Vec<u8>>();
            buffers.push((names.weight.clone(), vec![layer.outputs, layer.inputs], bytes(&layer.weight)));
            buffers.push((names.bias.clone(), vec![layer.outputs], bytes(&layer.bias)));
        }
        let views = buffers
            .iter()
            .map(|(name, shape, data)| {
                TensorView::new(Dtype::F32, shape.clone(), data).map(|view| (name.clone(), view))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid(format!("head tensors: {e}")))?;
        safetensors::serialize(views, &None).map_err(|e| Error::invalid(format!("head tensors: {e}")))
    }

    fn row<'a>(&self, sample: Sample<'a>, r: usize) -> &'a [f32] {
        let dim = self.input_dim();
        &sample.features[r * dim..(r + 1) * dim]
    }

    /// The raw output of one row, and every layer's activated output (kept for the backward pass).
    fn forward_row(&self, row: &[f32]) -> (f64, Vec<Vec<f64>>) {
        let mut activations: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let out: Vec<f64> = (0..layer.outputs)
                .map(|o| {
                    let weights = &layer.weight[o * layer.inputs..(o + 1) * layer.inputs];
                    let dot: f64 = if i == 0 {
                        weights.iter().zip(row).map(|(w, &x)| w * f64::from(x)).sum()
                    } else {
                        weights.iter().zip(&activations[i - 1]).map(|(w, x)| w * x).sum()
                    };
                    activate(layer.activation, dot + layer.bias[o])
                })
                .collect();
            activations.push(out);
        }
        (activations.last().expect("at least one layer")[0], activations)
    }

    fn backward_row(&self, row: &[f32], activations: &[Vec<f64>], d_output: f64, gradients: &mut Gradients) {
        let mut upstream = vec![d_output];
        for i in (0..self.layers.len()).rev() {
            let layer = &self.layers[i];
            // Through the activation: d pre-activation.
            let d_pre: Vec<f64> = upstream
                .iter()
                .zip(&activations[i])
                .map(|(g, &y)| g * activation_derivative(layer.activation, y))
                .collect();
            let (d_weight, d_bias) = &mut gradients[i];
            let mut d_input = vec![0.0; layer.inputs];
            for (o, &g) in d_pre.iter().enumerate() {
                if g == 0.0 {
                    continue;
                }
                d_bias[o] += g;
                let weights = &layer.weight[o * layer.inputs..(o + 1) * layer.inputs];
                let d_weights = &mut d_weight[o * layer.inputs..(o + 1) * layer.inputs];
                if i == 0 {
                    for (dw, &x) in d_weights.iter_mut().zip(row) {
                        *dw += g * f64::from(x);
                    }
                } else {
                    for (((dw, &x), w), di) in
                        d_weights.iter_mut().zip(&activations[i - 1]).zip(weights).zip(&mut d_input)
                    {
                        *dw += g * x;
                        *di += g * w;
                    }
                }
            }
            upstream = d_input;
        }
    }

    fn pool(&self, outputs: &[f64]) -> f64 {
        let n = outputs.len() as f64;
        match self.stage {
            ActivationStage::PerFrame => {
                outputs.iter().map(|&o| output_activate(self.output_activation, o)).sum::<f64>() / n
            }
            ActivationStage::AfterPooling => output_activate(self.output_activation, outputs.iter().sum::<f64>() / n),
        }
    }
}

fn activate(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => sigmoid(x),
    }
}

/// d activation / d input, from the activation's output `y` (ReLU: 0 at 0, as PyTorch).
fn activation_derivative(activation: Activation, y: f64) -> f64 {
    match activation {
        Activation::None => 1.0,
        Activation::Relu => f64::from(u8::from(y > 0.0)),
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
    }
}

fn output_activate(activation: OutputActivation, x: f64) -> f64 {
    match activation {
        OutputActivation::None => x,
        OutputActivation::Sigmoid => sigmoid(x),
    }
}

fn output_derivative(activation: OutputActivation, x: f64) -> f64 {
    match activation {
        OutputActivation::None => 1.0,
        OutputActivation::Sigmoid => {
            let s = sigmoid(x);
            s * (1.0 - s)
        }
    }
}
