//! The CPU backend on tract: pure Rust, available everywhere, and the numerical reference for
//! every other backend.

use std::path::Path;
use std::sync::Arc;

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{Backend, BackendKind, Network};
use crate::error::{Error, Result};

pub struct CpuBackend {
    executor: Executor,
}

impl CpuBackend {
    /// `threads`: matrix-multiplication threads per network run; 0 = all cores, 1 = none.
    pub fn new(threads: usize) -> Self {
        let threads =
            if threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { threads };
        let executor = if threads > 1 { Executor::multithread(threads) } else { Executor::SingleThread };
        CpuBackend { executor }
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn load_network(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>> {
        // tract can panic on a damaged graph (found by tests/fuzz.rs: an index out of bounds in
        // its padding computation): that is a bad file, not a reason to abort the caller.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.load(path, sample_shape))).unwrap_or_else(
            |panic| {
                Err(Error::bundle(
                    path,
                    format!("the network cannot be loaded: tract failed on it ({})", panic_message(&panic)),
                ))
            },
        )
    }
}

/// The text of a caught panic.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    crate::error::panic_message(panic.as_ref()).unwrap_or_else(|| "no message".into())
}

impl CpuBackend {
    fn load(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>> {
        let fail = |what: &str, e: TractError| Error::bundle(path, format!("{what}: {e:#}"));
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(|e| fail("not a loadable ONNX network", e))?;
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(Error::bundle(
                path,
                format!(
                    "the network has {} inputs and {} outputs; exactly one of each is supported",
                    model.inputs.len(),
                    model.outputs.len()
                ),
            ));
        }
        let fixed_batch = declared_batch(&model, path, sample_shape)?;
        let batch_dim = match fixed_batch {
            Some(b) => TDim::from(b),
            None => model.sym("N").into(),
        };
        let shape: TVec<TDim> = std::iter::once(batch_dim).chain(sample_shape.iter().map(|&d| TDim::from(d))).collect();
        model
            .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
            .map_err(|e| fail("cannot set the input shape", e))?;
        model.set_output_fact(0, InferenceFact::default()).map_err(|e| fail("cannot reset the output fact", e))?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| fail(&format!("cannot prepare the network for input {sample_shape:?}"), e))?;
        Ok(Box::new(CpuNetwork {
            plan,
            sample_shape: sample_shape.to_vec(),
            fixed_batch,
            executor: self.executor.clone(),
            path: path.display().to_string(),
        }))
    }
}

/// Checks the ONNX's declared input against the manifest's sample shape and returns the batch
/// size when the network fixes it.
fn declared_batch(model: &InferenceModel, path: &Path, sample_shape: &[usize]) -> Result<Option<usize>> {
    let fact = model.input_fact(0).map_err(|e| Error::bundle(path, format!("{e:#}")))?;
    let Some(_) = fact.shape.rank().concretize() else { return Ok(None) };
    let dims: Vec<Option<i64>> = fact.shape.dims().map(|d| d.concretize().and_then(|d| d.to_i64().ok())).collect();
    super::check_declared_input(path, &dims, sample_shape)
}

struct CpuNetwork {
    plan: Arc<TypedRunnableModel>,
    sample_shape: Vec<usize>,
    /// The network's own batch size when it is not symbolic: larger batches run in chunks.
    fixed_batch: Option<usize>,
    executor: Executor,
    path: String,
}

impl CpuNetwork {
    fn run_chunk(&self, batch: usize, input: &[f32]) -> Result<super::Tensor> {
        let shape: Vec<usize> = std::iter::once(batch).chain(self.sample_shape.iter().copied()).collect();
        let tensor = tract_ndarray::ArrayD::from_shape_vec(shape, input.to_vec())
            .map_err(|e| Error::Backend(format!("{}: input shape: {e}", self.path)))?;
        let run =
            || multithread_tract_scope(self.executor.clone(), || self.plan.run(tvec!(Tensor::from(tensor).into())));
        // The input has the shape the manifest gives, which the network was checked to take at
        // load: a network that fails on it, or gives no float32, is a damaged bundle.
        let damaged = |what: String| {
            Error::bundle(&self.path, format!("the network failed on an input of the manifest's shape: {what}"))
        };
        let outputs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .map_err(|panic| damaged(format!("tract failed on it ({})", panic_message(&panic))))?
            .map_err(|e| damaged(format!("{e:#}")))?;
        let output = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| damaged(format!("its output is not float32: {e:#}")))?;
        Ok(super::Tensor { shape: output.shape().to_vec(), data: output.iter().copied().collect() })
    }
}

impl Network for CpuNetwork {
    fn run(&self, batch: usize, input: &[f32]) -> Result<super::Tensor> {
        let sample_len: usize = self.sample_shape.iter().product();
        if batch == 0 || input.len() != batch * sample_len {
            return Err(Error::Backend(format!(
                "{}: {} values for a batch of {batch} samples of {:?}",
                self.path,
                input.len(),
                self.sample_shape
            )));
        }
        let chunk = self.fixed_batch.unwrap_or(batch);
        if !batch.is_multiple_of(chunk) {
            return Err(Error::Backend(format!(
                "{}: the network has a fixed batch of {chunk}; {batch} is not a multiple",
                self.path
            )));
        }
        let mut result: Option<super::Tensor> = None;
        for part in input.chunks(chunk * sample_len) {
            let out = self.run_chunk(chunk, part)?;
            match &mut result {
                None => result = Some(out),
                Some(acc) => {
                    acc.shape[0] += out.shape[0];
                    acc.data.extend(out.data);
                }
            }
        }
        Ok(result.expect("batch > 0"))
    }
}
