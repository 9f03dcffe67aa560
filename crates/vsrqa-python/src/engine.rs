//! `vsrqa.Engine`: one loaded model bundle, shared by every thread and session.

use std::path::PathBuf;
use std::sync::RwLock;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use vsrqa::backend::{BackendKind, GpuOptions};
use vsrqa::frame::ColorConversion;
use vsrqa::{ClipScore, EngineOptions, FrameScore};

use crate::errors::{exception, invalid, IntoPy};
use crate::frames::{parse_matrix, parse_range, Encoding, HostFrames};
use crate::session::Session;

/// A loaded model bundle on one backend. Scoring releases the GIL, so several Python threads
/// may score with one engine at once.
#[pyclass(frozen, module = "vsrqa")]
pub struct Engine {
    /// `None` once closed. Sessions hold the engine themselves and go on after a close.
    engine: RwLock<Option<vsrqa::Engine>>,
}

impl Engine {
    /// The engine, or the error that says it was closed.
    pub fn get(&self, py: Python<'_>) -> PyResult<vsrqa::Engine> {
        let engine = self.engine.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        engine.clone().ok_or_else(|| exception(py, "EngineClosedError", "the engine is closed"))
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (model, backend = "auto", threads = 0, color_conversion = None, device = None, members = None))]
    fn new(
        py: Python<'_>,
        model: PathBuf,
        backend: &str,
        threads: usize,
        color_conversion: Option<&str>,
        device: Option<usize>,
        members: Option<Vec<String>>,
    ) -> PyResult<Engine> {
        let backend: BackendKind = backend.parse().or_raise(py)?;
        let color_conversion = color_conversion
            .map(|name| {
                ColorConversion::parse(name)
                    .ok_or_else(|| invalid(py, format!("color_conversion \"{name}\": use reference or exact")))
            })
            .transpose()?;
        let options = EngineOptions {
            backend,
            threads,
            color_conversion,
            members,
            // Engines built by `vsrqa build-engines` (and by this package) are shared.
            gpu: GpuOptions { device, cache_dir: vsrqa::backend::default_engine_cache_dir(), ..Default::default() },
            ..EngineOptions::default()
        };
        let engine = py.detach(|| vsrqa::Engine::new(&model, options)).or_raise(py)?;
        Ok(Engine { engine: RwLock::new(Some(engine)) })
    }

    /// Frees the engine's networks once no session uses them; any later call raises
    /// EngineClosedError. Sessions already started go on.
    fn close(&self) {
        *self.engine.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exception))]
    fn __exit__(&self, _exception: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    #[getter]
    fn closed(&self) -> bool {
        self.engine.read().map(|e| e.is_none()).unwrap_or(true)
    }

    /// The bundle's directory.
    #[getter]
    fn model_path(&self, py: Python<'_>) -> PyResult<PathBuf> {
        Ok(self.get(py)?.bundle().dir.clone())
    }

    /// The bundle's name (its manifest's `name`).
    #[getter]
    fn model_name(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.bundle().manifest.name.clone())
    }

    /// The backend the engine runs on: the one `auto` chose.
    #[getter]
    fn backend(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.get(py)?.backend_name())
    }

    /// "reference" or "exact": how YUV frames become RGB.
    #[getter]
    fn color_conversion(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.get(py)?.color_conversion().name())
    }

    /// The ensemble members this engine runs, in the order of results' `member_scores` (empty
    /// when the bundle is not an ensemble).
    #[getter]
    fn members(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.get(py)?.members().into_iter().map(str::to_owned).collect())
    }

    /// The branches, in the order of the feature rows: name and feature width.
    #[getter]
    fn branches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let engine = self.get(py)?;
        let rows = engine.bundle().manifest.branches.iter().map(|b| {
            let row = PyDict::new(py);
            row.set_item("name", &b.name)?;
            row.set_item("output_dim", b.output_dim)?;
            Ok(row)
        });
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }

    /// Why the bundle's scores mean nothing (random or unknown weights), or None.
    #[getter]
    fn provenance_warning(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.get(py)?.bundle().provenance_warning())
    }

    /// Scores a video file as `vsrqa score` does; returns the CLI's JSON object as a dict. The
    /// keyword options are the CLI's per-file ones: fps, pix_fmt, size, color_matrix,
    /// color_range, reference, window, whole_clip, pooling.
    #[pyo3(signature = (path, *, raise_errors = true, **options))]
    fn score_file<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        raise_errors: bool,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (report, usage_error) = self.file_report(py, path, file_options("score_file", options)?)?;
        if raise_errors && !report.get_item("partial")?.is_truthy()? {
            if let Ok(message) = report.get_item("error") {
                let class = if usage_error { "InvalidArgumentError" } else { "InputError" };
                return Err(exception(py, class, message.extract::<String>()?));
            }
        }
        Ok(report)
    }

    /// Raises InvalidArgumentError for the options that are wrong whatever the file (a bad fps,
    /// matrix or range name), as `vsrqa score` refuses them before opening any file.
    #[pyo3(signature = (**options))]
    fn _check_file_options(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let options = file_options("_check_file_options", options)?;
        vsrqa_cli::check_file_options(&self.get(py)?, &options).map_err(|message| invalid(py, message))
    }

    /// score_file's report that never raises for the file, and whether a failure is a mistake in
    /// the options (the CLI's exit status 2): what `python -m vsrqa` needs.
    #[pyo3(signature = (path, **options))]
    fn _score_file_report<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<(Bound<'py, PyAny>, bool)> {
        self.file_report(py, path, file_options("_score_file_report", options)?)
    }

    /// Scores a clip of frames (a numpy array, see the package docs for layouts).
    #[pyo3(signature = (frames, fps, *, format = "rgb24", matrix = None, range = None))]
    fn score_frames<'py>(
        &self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        fps: f64,
        format: &str,
        matrix: Option<&str>,
        range: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (clip, scores, _) = self.run_clip(py, frames, fps, Encoding::parse(py, format, matrix, range)?, false)?;
        clip_dict(py, &self.get(py)?, &clip, &scores)
    }

    /// The head's inputs for a clip: a float32 array [pooled slots, feature width] (the branches'
    /// features side by side, in `branches` order), with the clip's score. `frames` is an array
    /// as for score_frames, or a video file's path.
    #[pyo3(signature = (frames, fps = None, *, format = "rgb24", matrix = None, range = None))]
    fn features<'py>(
        &self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        fps: Option<f64>,
        format: &str,
        matrix: Option<&str>,
        range: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        // The pooled rows, concatenated: as a feature bank stores them.
        let (clip, scores, features, rows) = if let Ok(path) = frames.extract::<PathBuf>() {
            let engine = self.get(py)?;
            // A file's own tags, but where `matrix` or `range` overrides one (as the CLI's
            // --color-matrix and --color-range).
            let (matrix, range) = (parse_matrix(py, matrix)?, parse_range(py, range)?);
            let decoding = vsrqa_cli::Decoding { conversion: engine.color_conversion(), matrix, range };
            if matrix.is_some() && decoding.conversion == ColorConversion::Reference {
                return Err(invalid(
                    py,
                    "matrix sets the exact conversion's matrix; this engine's conversion is the reference (BT.601)",
                ));
            }
            let extracted = py
                .detach(|| vsrqa_cli::extract(&engine, &path, &decoding))
                .map_err(|message| exception(py, "InputError", message))?;
            (extracted.score, Vec::new(), extracted.features, extracted.rows)
        } else {
            let fps = fps.ok_or_else(|| invalid(py, "fps is required for frames (only a file says its own rate)"))?;
            let (clip, scores, rows) =
                self.run_clip(py, frames, fps, Encoding::parse(py, format, matrix, range)?, true)?;
            let count = rows.len();
            (clip, scores, rows.concat(), count)
        };
        let result = clip_dict(py, &self.get(py)?, &clip, &scores)?;
        let bytes: Vec<u8> = features.iter().flat_map(|v| v.to_le_bytes()).collect();
        let array = py
            .import("numpy")?
            .call_method1("frombuffer", (pyo3::types::PyBytes::new(py, &bytes), "<f4"))?
            .call_method1("reshape", (rows, features.len() / rows.max(1)))?
            // A native float32 array of its own (frombuffer's view of the bytes is read-only).
            .call_method1("astype", ("float32",))?;
        result.set_item("features", array)?;
        Ok(result)
    }

    /// Starts a session: frames pushed one at a time (or a few at once), scores polled as key
    /// frames complete.
    #[pyo3(signature = (fps, *, expected_frames = None, format = "rgb24", matrix = None, range = None))]
    fn session(
        &self,
        py: Python<'_>,
        fps: f64,
        expected_frames: Option<u64>,
        format: &str,
        matrix: Option<&str>,
        range: Option<&str>,
    ) -> PyResult<Session> {
        let encoding = Encoding::parse(py, format, matrix, range)?;
        let mut session = self.get(py)?.session(fps).or_raise(py)?;
        if let Some(frames) = expected_frames {
            session.set_expected_frames(frames).or_raise(py)?;
        }
        Ok(Session::new(session, encoding))
    }

    fn __repr__(&self) -> String {
        match &*self.engine.read().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Some(e) => format!("vsrqa.Engine('{}', backend='{}')", e.bundle().dir.display(), e.backend_name()),
            None => "vsrqa.Engine(closed)".into(),
        }
    }
}

impl Engine {
    /// One file's report as the CLI's JSON (parsed by Python's json module, so that the numbers
    /// are those of parsing the CLI's output), and whether its failure is a usage mistake.
    fn file_report<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        options: vsrqa_cli::FileOptions,
    ) -> PyResult<(Bound<'py, PyAny>, bool)> {
        let engine = self.get(py)?;
        let result = py.detach(|| vsrqa_cli::score_file_json(&engine, &path, &options));
        let report = py.import("json")?.call_method1("loads", (result.report.to_string(),))?;
        Ok((report, result.usage_error))
    }

    /// Scores `frames` as one clip (told its length); with `features`, also the pooled rows.
    fn run_clip(
        &self,
        py: Python<'_>,
        frames: &Bound<'_, PyAny>,
        fps: f64,
        encoding: Encoding,
        features: bool,
    ) -> PyResult<(ClipScore, Vec<FrameScore>, Vec<Vec<f32>>)> {
        let engine = self.get(py)?;
        let frames = HostFrames::from_object(py, frames, encoding, true)?;
        if frames.len() == 0 {
            return Err(invalid(py, "the clip has no frames (an array of length 0)"));
        }
        py.detach(|| {
            let mut session = engine.session(fps)?;
            session.set_expected_frames(frames.len() as u64)?;
            for index in 0..frames.len() {
                session.push(frames.frame(index)?)?;
            }
            let clip = session.finish()?;
            let scores: Vec<FrameScore> = std::iter::from_fn(|| session.poll()).collect();
            let rows = if features { session.pooled_features().unwrap_or_default() } else { Vec::new() };
            Ok((clip, scores, rows))
        })
        .or_raise(py)
    }
}

/// The CLI's per-file options from a method's keyword arguments (None leaves one unset).
fn file_options(method: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<vsrqa_cli::FileOptions> {
    let mut result = vsrqa_cli::FileOptions::default();
    for (key, value) in options.into_iter().flat_map(|o| o.iter()) {
        match key.extract::<String>()?.as_str() {
            "fps" => result.fps = value.extract()?,
            "pix_fmt" => result.pix_fmt = value.extract()?,
            "size" => result.size = value.extract()?,
            "color_matrix" => result.color_matrix = value.extract()?,
            "color_range" => result.color_range = value.extract()?,
            "reference" => result.reference = value.extract()?,
            "window" => result.window_seconds = value.extract()?,
            "whole_clip" => result.whole_clip = value.extract()?,
            "pooling" => result.pooling = value.extract()?,
            other => {
                return Err(PyTypeError::new_err(format!("{method}() got an unexpected keyword argument '{other}'")))
            }
        }
    }
    Ok(result)
}

/// A clip's result as a dict: the CLI's report fields for it (`vsrqa_cli::clip_json`, the one
/// place they are built).
pub fn clip_dict<'py>(
    py: Python<'py>,
    engine: &vsrqa::Engine,
    clip: &ClipScore,
    scores: &[FrameScore],
) -> PyResult<Bound<'py, PyDict>> {
    let members: Vec<String> = engine.members().into_iter().map(str::to_owned).collect();
    json_dict(py, &vsrqa_cli::clip_json(clip, &members, scores))
}

/// One key frame's score as a dict, with the CLI's field names (`vsrqa_cli::frame_row`).
pub fn frame_dict<'py>(py: Python<'py>, score: &FrameScore) -> PyResult<Bound<'py, PyDict>> {
    json_dict(py, &vsrqa_cli::frame_row(score))
}

/// A JSON object as a Python dict, through Python's own `json` (floats exactly: the text holds
/// the shortest representation that reads back to the same double).
fn json_dict<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyDict>> {
    Ok(py.import("json")?.call_method1("loads", (value.to_string(),))?.cast_into::<PyDict>()?)
}
