//! The training loss of the method (docs/training.md): RQ-VQA's PLCC loss (`utils.py`
//! `plcc_loss`) plus the AIM 2024 winner's pairwise rank hinge loss, with its gradient with respect
//! to the predictions, written out by hand (checked against PyTorch's autograd and finite
//! differences in tests/train_metrics.rs).

/// Margin of the rank hinge: pairs whose predictions are less than this apart in the MOS order
/// are pushed apart.
pub const RANK_MARGIN: f64 = 0.05;

/// `utils.py` adds this to the standard deviations before dividing.
const EPSILON: f64 = 1e-8;

/// The loss on one batch and its gradient with respect to each prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    pub plcc: f64,
    pub rank: f64,
    pub total: f64,
    pub gradient: Vec<f64>,
}

/// PLCC loss + rank hinge loss of `predictions` against `mos` (same length, at least 2).
pub fn loss(mos: &[f64], predictions: &[f64]) -> Loss {
    let (plcc, plcc_gradient) = plcc_loss(mos, predictions);
    let (rank, rank_gradient) = rank_hinge(mos, predictions, RANK_MARGIN);
    let gradient = plcc_gradient.iter().zip(&rank_gradient).map(|(a, b)| a + b).collect();
    Loss { plcc, rank, total: plcc + rank, gradient }
}

/// Mean and biased standard deviation (`torch.std_mean(unbiased=False)`).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// `plcc_loss(labels, predictions)` as train.py calls it, with d loss / d prediction:
/// both sides standardized, `((mse(a, b) + mse(rho a, b)) / 4) / 2` with `rho = mean(a b)`.
pub fn plcc_loss(mos: &[f64], predictions: &[f64]) -> (f64, Vec<f64>) {
    let n = predictions.len() as f64;
    let (mos_mean, mos_std) = mean_std(mos);
    let a: Vec<f64> = mos.iter().map(|m| (m - mos_mean) / (mos_std + EPSILON)).collect();
    let (mean, std) = mean_std(predictions);
    let scale = std + EPSILON;
    let b: Vec<f64> = predictions.iter().map(|p| (p - mean) / scale).collect();
    let rho = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() / n;
    let a_square = a.iter().map(|x| x * x).sum::<f64>() / n;
    let loss0 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / n / 4.0;
    let loss1 = a.iter().zip(&b).map(|(x, y)| (rho * x - y) * (rho * x - y)).sum::<f64>() / n / 4.0;
    let value = (loss0 + loss1) / 2.0;

    // d value / d b_i, rho depending on b through rho = mean(a b).
    let g: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (2.0 * (y - x) / n + 2.0 * (y - rho * x) / n + 2.0 * rho * (a_square - 1.0) * x / n) / 8.0)
        .collect();
    // Back through the standardization b = (p - mean) / (std + eps).
    let g_mean = g.iter().sum::<f64>() / n;
    let g_dot_centered: f64 = g.iter().zip(predictions).map(|(gi, p)| gi * (p - mean)).sum();
    let gradient = predictions
        .iter()
        .zip(&g)
        .map(|(p, gi)| {
            let through_std = if std > 0.0 { g_dot_centered * (p - mean) / (scale * scale * n * std) } else { 0.0 };
            (gi - g_mean) / scale - through_std
        })
        .collect();
    (value, gradient)
}

/// Mean over the pairs `(i, j)` with `mos[i] > mos[j]` of `max(0, margin - (p[i] - p[j]))`, with its
/// gradient (a hinge exactly at 0 passes the gradient, as `torch.clamp`'s backward does).
pub fn rank_hinge(mos: &[f64], predictions: &[f64], margin: f64) -> (f64, Vec<f64>) {
    let mut total = 0.0;
    let mut pairs = 0usize;
    let mut gradient = vec![0.0; predictions.len()];
    for i in 0..mos.len() {
        for j in 0..mos.len() {
            if mos[i] > mos[j] {
                pairs += 1;
                let hinge = margin - (predictions[i] - predictions[j]);
                if hinge >= 0.0 {
                    total += hinge;
                    gradient[i] -= 1.0;
                    gradient[j] += 1.0;
                }
            }
        }
    }
    if pairs == 0 {
        return (0.0, gradient);
    }
    let count = pairs as f64;
    (total / count, gradient.into_iter().map(|g| g / count).collect())
}
