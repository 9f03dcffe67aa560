//! Training and evaluation of vsrqa's fusion head: the metrics of quality assessment, the
//! training loss, the head as a trainable model, the optimizer, the feature bank and the training
//! loop. The `vsrqa features`/`train`/`eval` commands are built on these.

pub mod adam;
pub mod bank;
pub mod correlation;
pub mod error;
pub mod head_model;
pub mod loss;
pub mod trainer;

pub use bank::Decoding;
pub use error::{Error, Result};
