//! PyTorch's `optim.Adam` (L2 weight decay added to the gradient, bias-corrected moments) and
//! `lr_scheduler.StepLR`, as RQ-VQA's train.py configures them. Eleven lines of arithmetic: a
//! dependency for it would bring a whole tensor library.

use super::head_model::{Gradients, HeadModel};

pub struct Adam {
    pub learning_rate: f64,
    pub weight_decay: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    step: i32,
    first: Gradients,
    second: Gradients,
}

impl Adam {
    pub fn new(model: &HeadModel, learning_rate: f64, weight_decay: f64) -> Adam {
        Adam {
            learning_rate,
            weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            step: 0,
            first: model.zero_gradients(),
            second: model.zero_gradients(),
        }
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self, model: &mut HeadModel, gradients: &Gradients) {
        self.step += 1;
        let correction1 = 1.0 - self.beta1.powi(self.step);
        let correction2 = 1.0 - self.beta2.powi(self.step);
        for (l, layer) in model.layers.iter_mut().enumerate() {
            let pairs = [(&mut layer.weight, &gradients[l].0, 0), (&mut layer.bias, &gradients[l].1, 1)];
            for (params, grads, which) in pairs {
                let (m, v) = if which == 0 {
                    (&mut self.first[l].0, &mut self.second[l].0)
                } else {
                    (&mut self.first[l].1, &mut self.second[l].1)
                };
                for i in 0..params.len() {
                    let g = grads[i] + self.weight_decay * params[i];
                    m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g;
                    v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g * g;
                    let denominator = v[i].sqrt() / correction2.sqrt() + self.epsilon;
                    params[i] -= self.learning_rate / correction1 * m[i] / denominator;
                }
            }
        }
    }
}

/// `StepLR`: the learning rate of `epoch` (0-based), multiplied by `ratio` every `interval` epochs.
pub fn step_lr(initial: f64, epoch: usize, interval: usize, ratio: f64) -> f64 {
    initial * ratio.powi((epoch / interval.max(1)) as i32)
}
