//! Training and evaluation of the fusion head (issue 5): the metrics of quality assessment and the
//! training loss. The feature bank and the `train`/`eval` commands build on these.

pub mod correlation;
pub mod loss;
