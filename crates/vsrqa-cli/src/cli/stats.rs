//! Pooled statistics of a list of scores (a clip's key-frame scores, or several clips' scores).

use serde_json::{json, Value};

/// Count, mean, min, max, harmonic mean and population standard deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// `count / sum(1 / x)`; 0 if some value is 0, `None` if some value is negative.
    pub harmonic_mean: Option<f64>,
    /// Population standard deviation: divided by `count`, not `count - 1`.
    pub std: f64,
}

impl Summary {
    /// `None` for an empty list.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let harmonic_mean = if values.iter().any(|&v| v < 0.0) {
            None
        } else if values.contains(&0.0) {
            Some(0.0)
        } else {
            Some(n / values.iter().map(|v| 1.0 / v).sum::<f64>())
        };
        Some(Summary {
            count: values.len(),
            mean,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            harmonic_mean,
            std: variance.sqrt(),
        })
    }

    pub fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
            "harmonic_mean": self.harmonic_mean,
            "std": self.std,
        })
    }

    /// One line: `mean 0.4650  min ...  (n=3)`.
    pub fn to_text(self) -> String {
        let harmonic = self.harmonic_mean.map_or_else(|| "undefined".to_owned(), |h| format!("{h:.4}"));
        format!(
            "mean {:.4}  min {:.4}  max {:.4}  harmonic mean {harmonic}  std (population) {:.4}  (n={})",
            self.mean, self.min, self.max, self.std, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn hand_computed_values() {
        // 0.2, 0.4, 0.6: mean 0.4; population variance (0.04 + 0 + 0.04) / 3; harmonic mean
        // 3 / (5 + 2.5 + 1.666...) = 3 / 9.1666... = 0.327272...
        let s = Summary::of(&[0.2, 0.4, 0.6]).unwrap();
        assert_eq!(s.count, 3);
        assert!((s.mean - 0.4).abs() < 1e-15);
        assert_eq!((s.min, s.max), (0.2, 0.6));
        assert!((s.std - (0.08f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((s.harmonic_mean.unwrap() - 36.0 / 110.0).abs() < 1e-15);

        let one = Summary::of(&[0.7]).unwrap();
        assert_eq!((one.mean, one.min, one.max, one.std, one.harmonic_mean), (0.7, 0.7, 0.7, 0.0, Some(0.7)));
        assert_eq!(Summary::of(&[0.0, 0.5]).unwrap().harmonic_mean, Some(0.0));
        assert_eq!(Summary::of(&[-1.0, 0.5]).unwrap().harmonic_mean, None);
        assert!(Summary::of(&[]).is_none());
    }
}
