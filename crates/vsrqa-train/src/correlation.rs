//! The evaluation metrics of quality assessment, as RQ-VQA's `utils.py` computes them with scipy:
//! PLCC (Pearson), SRCC (Spearman, average ranks for ties), KRCC (Kendall's tau-b), RMSE, raw and
//! after the usual 4-parameter logistic mapping of predictions to MOS fitted by least squares
//! (`fit_function`: scipy's `curve_fit`, MINPACK's Levenberg-Marquardt; here the
//! `levenberg-marquardt` crate, a port of the same algorithm).

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{Dyn, OMatrix, OVector, Owned, Vector4, U4};
use serde::Serialize;

use crate::error::{Error, Result};

/// Metrics of predictions against subjective scores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Performance {
    /// Pearson correlation after the logistic fit.
    pub plcc: f64,
    /// Pearson correlation of the raw predictions.
    pub plcc_raw: f64,
    pub srcc: f64,
    pub krcc: f64,
    /// Root mean squared error after the logistic fit (MOS units).
    pub rmse: f64,
    pub rmse_raw: f64,
    /// The fitted logistic's parameters (b1, b2, b3, b4) of `b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|))`.
    pub logistic: [f64; 4],
}

/// All metrics of `predictions` against `mos`. Needs at least 3 pairs of finite values.
pub fn performance(mos: &[f64], predictions: &[f64]) -> Result<Performance> {
    if mos.len() != predictions.len() {
        return Err(Error::invalid(format!("{} MOS values for {} predictions", mos.len(), predictions.len())));
    }
    if mos.len() < 3 {
        return Err(Error::invalid(format!("{} pairs: correlations need at least 3", mos.len())));
    }
    if mos.iter().chain(predictions).any(|v| !v.is_finite()) {
        return Err(Error::invalid("MOS and predictions must be finite numbers"));
    }
    let logistic = fit_logistic(mos, predictions);
    let fitted: Vec<f64> = predictions.iter().map(|&x| logistic_value(&logistic, x)).collect();
    Ok(Performance {
        plcc: pearson(&fitted, mos),
        plcc_raw: pearson(predictions, mos),
        srcc: spearman(predictions, mos),
        krcc: kendall_tau_b(predictions, mos),
        rmse: rmse(&fitted, mos),
        rmse_raw: rmse(predictions, mos),
        logistic,
    })
}

/// Pearson's r (NaN when either side is constant, as scipy).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Spearman's rho: Pearson's r of the ranks, tied values sharing their average rank.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0; // ranks start at 1
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Kendall's tau-b (scipy's default): concordant minus discordant pairs over the geometric mean of
/// the pairs not tied in each variable. O(n^2), enough for evaluation sets.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tied_x += 1,
                (false, true) => tied_y += 1,
                _ if (dx > 0.0) == (dy > 0.0) => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let untied_x = (concordant + discordant + tied_y) as f64;
    let untied_y = (concordant + discordant + tied_x) as f64;
    (concordant - discordant) as f64 / (untied_x * untied_y).sqrt()
}

pub fn rmse(x: &[f64], y: &[f64]) -> f64 {
    (x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / x.len() as f64).sqrt()
}

/// utils.py `logistic_func`.
pub fn logistic_value(b: &[f64; 4], x: f64) -> f64 {
    b[1] + (b[0] - b[1]) / (1.0 + (-(x - b[2]) / b[3].abs()).exp())
}

/// utils.py `fit_function`: least squares from `[max(mos), min(mos), mean(pred), 0.5]`.
pub fn fit_logistic(mos: &[f64], predictions: &[f64]) -> [f64; 4] {
    let n = predictions.len() as f64;
    let start = Vector4::new(
        mos.iter().copied().fold(f64::MIN, f64::max),
        mos.iter().copied().fold(f64::MAX, f64::min),
        predictions.iter().sum::<f64>() / n,
        0.5,
    );
    let problem = LogisticFit { x: predictions.to_vec(), y: mos.to_vec(), b: start };
    let (fitted, _report) = LevenbergMarquardt::new().with_patience(100_000).minimize(problem);
    let b = fitted.b;
    [b[0], b[1], b[2], b[3]]
}

struct LogisticFit {
    x: Vec<f64>,
    y: Vec<f64>,
    b: Vector4<f64>,
}

impl LeastSquaresProblem<f64, Dyn, U4> for LogisticFit {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, U4>;
    type ParameterStorage = Owned<f64, U4>;

    fn set_params(&mut self, b: &Vector4<f64>) {
        self.b = *b;
    }

    fn params(&self) -> Vector4<f64> {
        self.b
    }

    fn residuals(&self) -> Option<OVector<f64, Dyn>> {
        let b = [self.b[0], self.b[1], self.b[2], self.b[3]];
        Some(OVector::<f64, Dyn>::from_iterator(
            self.x.len(),
            self.x.iter().zip(&self.y).map(|(&x, &y)| logistic_value(&b, x) - y),
        ))
    }

    fn jacobian(&self) -> Option<OMatrix<f64, Dyn, U4>> {
        let (b1, b2, b3, b4) = (self.b[0], self.b[1], self.b[2], self.b[3]);
        let scale = b4.abs();
        let mut jacobian = OMatrix::<f64, Dyn, U4>::zeros(self.x.len());
        for (row, &x) in self.x.iter().enumerate() {
            let e = (-(x - b3) / scale).exp();
            let s = 1.0 / (1.0 + e); // the logistic part
            let ds = s * s * e; // d s / d((x - b3) / |b4|)
            jacobian[(row, 0)] = s;
            jacobian[(row, 1)] = 1.0 - s;
            jacobian[(row, 2)] = (b1 - b2) * ds * (-1.0 / scale);
            jacobian[(row, 3)] = (b1 - b2) * ds * (-(x - b3) / (scale * scale)) * b4.signum();
        }
        Some(jacobian)
    }
}
