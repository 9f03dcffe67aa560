//! Training the head (vsrqa_train::{head_model, adam, trainer}):
//! - the hand-written backward pass against central finite differences, for every hidden
//!   activation and both pooling stages (tolerance 1e-6 relative: step 1e-6 in f64);
//! - Adam + StepLR + the loss against PyTorch: tests/data/golden/train_metrics.json
//!   `head_training` (float64 on both sides, 4 epochs of 2 fixed batches): final weights within
//!   1e-9 and every step's loss within 1e-12 (the same arithmetic, summed in another order);
//! - the seeded split, determinism, and a synthetic bank (features with a known monotone relation to
//!   the MOS plus noise) on which training must lift validation SRCC above 0.9.
//!   The end-to-end run through real videos, the CLI and the C API is in crates/vsrqa-cli/tests/train_cli.rs.

use rand::{RngExt, SeedableRng};
use vsrqa::bundle::{Activation, ActivationStage, HeadSpec, LayerSpec, OutputActivation, TemporalPooling};
use vsrqa_train::adam::{step_lr, Adam};
use vsrqa_train::head_model::{Architecture, Dense, HeadModel, Sample};
use vsrqa_train::trainer::{evaluate, split, train, train_step, Example, TrainConfig};

fn architecture(input: usize, hidden: usize, activation: Activation, stage: ActivationStage) -> Architecture {
    Architecture {
        spec: HeadSpec {
            weights: "head.safetensors".into(),
            input_dim: input,
            layers: vec![
                LayerSpec { weight: "quality.0.weight".into(), bias: "quality.0.bias".into(), activation },
                LayerSpec {
                    weight: "quality.1.weight".into(),
                    bias: "quality.1.bias".into(),
                    activation: Activation::None,
                },
            ],
            output_activation: OutputActivation::Sigmoid,
            activation_stage: stage,
            temporal_pooling: TemporalPooling::Mean,
        },
        layer_outputs: vec![hidden, 1],
    }
}

fn parameter(model: &mut HeadModel, layer: usize, bias: bool, i: usize) -> &mut f64 {
    let l = &mut model.layers[layer];
    if bias {
        &mut l.bias[i]
    } else {
        &mut l.weight[i]
    }
}

#[test]
fn train_gradients_match_finite_differences() {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    let features: Vec<f32> = (0..3 * 5).map(|_| rng.random_range(-2.0f32..2.0)).collect();
    let sample = Sample { features: &features, rows: 3 };
    for activation in [Activation::None, Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
        for stage in [ActivationStage::PerFrame, ActivationStage::AfterPooling] {
            let model = HeadModel::random(&architecture(5, 4, activation, stage), &mut rng).unwrap();
            let mut gradients = model.zero_gradients();
            // upstream 1.0: the gradient of the prediction itself.
            model.accumulate_gradient(sample, 1.0, &mut gradients);
            for (layer, (weight_gradient, bias_gradient)) in gradients.iter().enumerate() {
                for bias in [false, true] {
                    let analytic_gradient = if bias { bias_gradient } else { weight_gradient };
                    for (i, &analytic) in analytic_gradient.iter().enumerate() {
                        let step = 1e-6;
                        let mut plus = model.clone();
                        *parameter(&mut plus, layer, bias, i) += step;
                        let mut minus = model.clone();
                        *parameter(&mut minus, layer, bias, i) -= step;
                        let numeric = (plus.predict(sample) - minus.predict(sample)) / (2.0 * step);
                        assert!(
                            (numeric - analytic).abs() <= 1e-6 * numeric.abs().max(1e-3),
                            "{activation:?} {stage:?} layer {layer} {} {i}: analytic {analytic}, numeric {numeric}",
                            if bias { "bias" } else { "weight" }
                        );
                    }
                }
            }
        }
    }
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            other => out.push(other.as_f64().unwrap()),
        }
    }
    walk(value, &mut out);
    out
}

fn dense(weights: &serde_json::Value, inputs: usize, activation: Activation) -> Dense {
    let (weight, bias) = (floats(&weights[0]), floats(&weights[1]));
    Dense { inputs, outputs: bias.len(), weight, bias, activation }
}

#[test]
fn train_steps_match_pytorch_adam() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/golden/train_metrics.json");
    let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let runs = golden["head_training"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        let activation: Activation = serde_json::from_value(run["hidden_activation"].clone()).unwrap();
        let stage: ActivationStage = serde_json::from_value(run["activation_stage"].clone()).unwrap();
        let initial = &run["initial"];
        let mut model = HeadModel {
            layers: vec![dense(&initial[0], 6, activation), dense(&initial[1], 4, Activation::None)],
            output_activation: OutputActivation::Sigmoid,
            stage,
        };
        let mos = floats(&run["mos"]);
        let examples: Vec<Example> = run["features"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&mos)
            .map(|(f, &m)| Example { features: floats(f).iter().map(|&v| v as f32).collect(), rows: 3, mos: m })
            .collect();
        // The generator's features are float32 values, so `as f32` is exact.
        let batches: Vec<Vec<usize>> = serde_json::from_value(run["batches"].clone()).unwrap();
        let learning_rate = run["learning_rate"].as_f64().unwrap();
        let mut optimizer = Adam::new(&model, learning_rate, run["weight_decay"].as_f64().unwrap());
        let mut losses = Vec::new();
        for epoch in 0..run["epochs"].as_u64().unwrap() as usize {
            optimizer.learning_rate = step_lr(learning_rate, epoch, 2, 0.95);
            for batch in &batches {
                losses.push(train_step(&mut model, &mut optimizer, &examples, batch));
            }
        }
        let name = format!("{activation:?}/{stage:?}");
        for (step, (ours, theirs)) in losses.iter().zip(floats(&run["losses"])).enumerate() {
            assert!((ours - theirs).abs() <= 1e-12, "{name} step {step}: loss {ours} vs PyTorch {theirs}");
        }
        let final_weights = &run["final"];
        for (l, layer) in model.layers.iter().enumerate() {
            let expected = dense(&final_weights[l], layer.inputs, layer.activation);
            for (ours, theirs) in
                layer.weight.iter().chain(&layer.bias).zip(expected.weight.iter().chain(&expected.bias))
            {
                assert!((ours - theirs).abs() <= 1e-9, "{name} layer {l}: {ours} vs PyTorch {theirs}");
            }
        }
    }
}

#[test]
fn train_split_is_seeded_80_20() {
    let (train_set, validation) = split(50, 0.2, 3).unwrap();
    assert_eq!((train_set.len(), validation.len()), (40, 10));
    let mut all: Vec<usize> = train_set.iter().chain(&validation).copied().collect();
    all.sort();
    assert_eq!(all, (0..50).collect::<Vec<_>>());
    assert_eq!(split(50, 0.2, 3).unwrap(), (train_set.clone(), validation.clone()));
    assert_ne!(split(50, 0.2, 4).unwrap().1, validation);
    // int(11 * 0.8) = 8 for training, 3 to validate: the smallest set that works.
    assert_eq!(split(11, 0.2, 0).unwrap().1.len(), 3);
    assert!(split(10, 0.2, 0).unwrap_err().to_string().contains("at least 2 and 3"));
    assert!(split(50, 1.0, 0).is_err());
}

/// `count` videos of `rows` rows: a latent quality q drives the MOS (plus noise) and, through a
/// fixed random projection and a monotone non-linearity, every feature (plus noise).
fn synthetic_bank(count: usize, rows: usize, dim: usize, seed: u64) -> Vec<Example> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let direction: Vec<f64> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
    (0..count)
        .map(|_| {
            let q: f64 = rng.random_range(0.0..1.0);
            let mos = 1.0 + 4.0 * q + rng.random_range(-0.2..0.2);
            let features = (0..rows * dim)
                .map(|i| ((direction[i % dim] * (3.0 * q - 1.5)).tanh() + rng.random_range(-0.3..0.3)) as f32)
                .collect();
            Example { features, rows, mos }
        })
        .collect()
}

#[test]
fn train_synthetic_bank_reaches_srcc_above_0_9() {
    let examples = synthetic_bank(60, 4, 24, 5);
    let arch = architecture(24, 8, Activation::None, ActivationStage::PerFrame);
    let config = TrainConfig { epochs: 60, batch_size: 8, learning_rate: 1e-3, seed: 9, ..TrainConfig::default() };
    let mut epochs_seen = 0;
    let outcome = train(&examples, &arch, &config, &mut |_| epochs_seen += 1).unwrap();
    assert_eq!(epochs_seen, 60);
    assert_eq!((outcome.train.len(), outcome.validation.len()), (48, 12));
    let first = outcome.history[0].validation.srcc;
    assert!(outcome.best.srcc > 0.9, "best validation SRCC {} (first epoch {first})", outcome.best.srcc);
    // The kept model is the best epoch's: re-evaluating it gives the recorded metrics.
    let again = evaluate(&outcome.model, &examples, &outcome.validation).unwrap();
    assert_eq!(again.srcc, outcome.best.srcc);
    assert_eq!(outcome.history[outcome.best_epoch - 1].validation.srcc, outcome.best.srcc);
    assert!(outcome.history.iter().all(|h| h.validation.srcc <= outcome.best.srcc));
    // Before training, the random head is far from it (it starts from PyTorch's initialization).
    let mut init_rng = rand::rngs::ChaCha8Rng::seed_from_u64(9);
    init_rng.set_stream(1);
    let untrained = HeadModel::random(&arch, &mut init_rng).unwrap();
    let before = evaluate(&untrained, &examples, &outcome.validation).unwrap();
    assert!(before.srcc < outcome.best.srcc - 0.1, "untrained SRCC {} vs trained {}", before.srcc, outcome.best.srcc);

    // Deterministic: the same seed gives the same head bit for bit, another seed another one.
    let repeat = train(&examples, &arch, &config, &mut |_| {}).unwrap();
    assert_eq!(repeat.model, outcome.model);
    // Also on one thread: the batch's videos run in parallel but their gradients add up in order.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let single_thread = pool.install(|| train(&examples, &arch, &config, &mut |_| {})).unwrap();
    assert_eq!(single_thread.model, outcome.model);
    let other = train(&examples, &arch, &TrainConfig { seed: 10, ..config.clone() }, &mut |_| {}).unwrap();
    assert_ne!(other.model, outcome.model);
}

#[test]
fn train_rejects_bad_input() {
    let arch = architecture(4, 2, Activation::None, ActivationStage::PerFrame);
    let good = || Example { features: vec![0.5; 8], rows: 2, mos: 1.0 };
    let mut examples: Vec<Example> = (0..20).map(|_| good()).collect();
    examples[3].features.pop();
    let error = train(&examples, &arch, &TrainConfig::default(), &mut |_| {}).err().unwrap().to_string();
    assert!(error.contains("example 3"), "{error}");
    examples[3] = Example { mos: f64::NAN, ..good() };
    assert!(train(&examples, &arch, &TrainConfig::default(), &mut |_| {}).is_err());
    examples[3] = good();
    let zero = TrainConfig { epochs: 0, ..TrainConfig::default() };
    assert!(train(&examples, &arch, &zero, &mut |_| {}).is_err());
    let few: Vec<Example> = (0..5).map(|_| good()).collect();
    assert!(train(&few, &arch, &TrainConfig::default(), &mut |_| {}).is_err());
}
