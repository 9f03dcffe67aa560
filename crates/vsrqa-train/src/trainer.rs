//! Training the head on a feature bank, RQ-VQA's recipe (train.py): a random 80/20 split of the
//! videos drawn from a seed, Adam with weight decay 1e-7 and a step learning-rate schedule
//! (x0.95 every 2 epochs), shuffled batches, the loss of [`super::loss`], and the model of the
//! epoch with the best validation SRCC kept. Everything derives from the seed, and sums run in a
//! fixed order whatever the number of threads, so a seed gives the same head bit for bit.

use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;

use super::adam::{step_lr, Adam};
use super::correlation::{performance, Performance};
use super::head_model::{Architecture, Gradients, HeadModel, Sample};
use super::loss::loss;
use crate::error::{Error, Result};

/// The recipe's knobs; [`TrainConfig::default`] is RQ-VQA's (docs/training.md: 100 epochs, lr 1e-5,
/// batch 16).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainConfig {
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// StepLR: the rate is multiplied by `decay_ratio` every `decay_interval` epochs.
    pub decay_interval: usize,
    pub decay_ratio: f64,
    /// Share of the videos held out for validation.
    pub validation_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 0,
            epochs: 100,
            batch_size: 16,
            learning_rate: 1e-5,
            weight_decay: 1e-7,
            decay_interval: 2,
            decay_ratio: 0.95,
            validation_fraction: 0.2,
        }
    }
}

/// One video of the training set.
#[derive(Clone, Debug)]
pub struct Example {
    pub features: Vec<f32>,
    pub rows: usize,
    pub mos: f64,
}

impl Example {
    fn sample(&self) -> Sample<'_> {
        Sample { features: &self.features, rows: self.rows }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub learning_rate: f64,
    pub train_loss: f64,
    pub validation: Performance,
}

pub struct TrainOutcome {
    /// The model of the best validation epoch.
    pub model: HeadModel,
    pub best_epoch: usize,
    pub best: Performance,
    pub history: Vec<EpochLog>,
    /// Indices into the examples.
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
}

/// The smallest validation set the correlations are defined on.
const MIN_VALIDATION: usize = 3;

/// The seeded 80/20 split: a permutation of the indices, the first `floor(n * (1 - fraction))`
/// for training (as the reference's `index_rd[0:int(length * 0.8)]`), the rest for validation.
pub fn split(count: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid(format!("the validation fraction {fraction} must be between 0 and 1")));
    }
    let mut order: Vec<usize> = (0..count).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let train_count = (count as f64 * (1.0 - fraction)).floor() as usize;
    let validation = order.split_off(train_count);
    if validation.len() < MIN_VALIDATION || order.len() < 2 {
        return Err(Error::invalid(format!(
            "{count} videos give {} for training and {} for validation: at least 2 and {MIN_VALIDATION} are needed",
            order.len(),
            validation.len()
        )));
    }
    Ok((order, validation))
}

/// Trains a head of `architecture` from PyTorch's default initialization. `on_epoch` sees each
/// epoch's log as it ends (progress).
pub fn train(
    examples: &[Example],
    architecture: &Architecture,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<TrainOutcome> {
    validate(examples, architecture, config)?;
    let (train_set, validation_set) = split(examples.len(), config.validation_fraction, config.seed)?;
    // Independent streams for the initialization and the batch order, both from the seed.
    let mut init_rng = ChaCha8Rng::seed_from_u64(config.seed);
    init_rng.set_stream(1);
    let mut order_rng = ChaCha8Rng::seed_from_u64(config.seed);
    order_rng.set_stream(2);

    let mut model = HeadModel::random(architecture, &mut init_rng)?;
    let mut optimizer = Adam::new(&model, config.learning_rate, config.weight_decay);
    let mut best: Option<(f64, usize, HeadModel, Performance)> = None;
    let mut history = Vec::with_capacity(config.epochs);
    let mut order = train_set.clone();
    for epoch in 0..config.epochs {
        optimizer.learning_rate = step_lr(config.learning_rate, epoch, config.decay_interval, config.decay_ratio);
        order.shuffle(&mut order_rng);
        let mut losses = Vec::new();
        for batch in order.chunks(config.batch_size) {
            losses.push(train_step(&mut model, &mut optimizer, examples, batch));
        }
        let validation = evaluate(&model, examples, &validation_set)?;
        let log = EpochLog {
            epoch: epoch + 1,
            learning_rate: optimizer.learning_rate,
            train_loss: losses.iter().sum::<f64>() / losses.len() as f64,
            validation,
        };
        on_epoch(&log);
        // NaN (constant predictions) never counts as better.
        let criterion = if validation.srcc.is_nan() { f64::NEG_INFINITY } else { validation.srcc };
        if best.as_ref().is_none_or(|(b, ..)| criterion > *b) {
            best = Some((criterion, epoch + 1, model.clone(), validation));
        }
        history.push(log);
    }
    let (_, best_epoch, model, best) = best.expect("at least one epoch");
    Ok(TrainOutcome { model, best_epoch, best, history, train: train_set, validation: validation_set })
}

/// One optimizer step on the videos `batch` (indices into `examples`); returns the batch's loss.
/// Videos run in parallel; their gradients are summed in batch order, so the result does not
/// depend on the number of threads.
pub fn train_step(model: &mut HeadModel, optimizer: &mut Adam, examples: &[Example], batch: &[usize]) -> f64 {
    let forwards: Vec<_> = batch.par_iter().map(|&i| model.forward(examples[i].sample())).collect();
    let predictions: Vec<f64> = forwards.iter().map(|f| f.prediction).collect();
    let mos: Vec<f64> = batch.iter().map(|&i| examples[i].mos).collect();
    let batch_loss = loss(&mos, &predictions);
    let per_video: Vec<Gradients> = (0..batch.len())
        .into_par_iter()
        .map(|k| {
            let mut gradients = model.zero_gradients();
            model.backward(examples[batch[k]].sample(), &forwards[k], batch_loss.gradient[k], &mut gradients);
            gradients
        })
        .collect();
    let mut gradients = model.zero_gradients();
    for video in &per_video {
        for ((weight, bias), (d_weight, d_bias)) in gradients.iter_mut().zip(video) {
            weight.iter_mut().zip(d_weight).for_each(|(a, b)| *a += b);
            bias.iter_mut().zip(d_bias).for_each(|(a, b)| *a += b);
        }
    }
    optimizer.step(model, &gradients);
    batch_loss.total
}

/// The metrics of `model` on the videos `indices`.
pub fn evaluate(model: &HeadModel, examples: &[Example], indices: &[usize]) -> Result<Performance> {
    let predictions: Vec<f64> = indices.par_iter().map(|&i| model.predict(examples[i].sample())).collect();
    let mos: Vec<f64> = indices.iter().map(|&i| examples[i].mos).collect();
    performance(&mos, &predictions)
}

fn validate(examples: &[Example], architecture: &Architecture, config: &TrainConfig) -> Result<()> {
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(Error::invalid("epochs and batch size must be at least 1"));
    }
    if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
        return Err(Error::invalid(format!("learning rate {} must be a positive number", config.learning_rate)));
    }
    let dim = architecture.spec.input_dim;
    for (i, example) in examples.iter().enumerate() {
        if example.rows == 0 || example.features.len() != example.rows * dim {
            return Err(Error::invalid(format!(
                "example {i}: {} values for {} rows of {dim} features",
                example.features.len(),
                example.rows
            )));
        }
        if !example.mos.is_finite() || example.features.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(format!("example {i}: MOS and features must be finite numbers")));
        }
    }
    Ok(())
}
