//! The key a built TensorRT engine is cached under. An engine is only valid for the exact network,
//! build settings, library release and (for TensorRT) GPU model it was built for; each of them is
//! part of the key, so a change to any one makes a new cache entry instead of loading a stale plan.

use serde_json::json;

use super::library::{Flavor, TensorRtLibrary};
use super::GpuError;
use crate::backend::cuda_device::GpuInfo;

/// One input's optimization profile: the shapes the engine must accept (TensorRT's kMIN, kOPT,
/// kMAX), e.g. the batch sizes a branch uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeProfile {
    pub input: String,
    pub min: Vec<usize>,
    pub opt: Vec<usize>,
    pub max: Vec<usize>,
}

/// The builder settings vsrqa uses.
#[derive(Clone, Copy, Debug)]
pub struct BuildOptions {
    pub optimization_level: u8,
    pub workspace_bytes: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { optimization_level: 3, workspace_bytes: 1 << 30 }
    }
}

/// The build settings of a network taking samples of `sample` shape in batches up to `batch`:
/// fp32 (precision is the ONNX graph's), one profile from one sample up to `batch`. The engine
/// runner and `vsrqa build-engines` ask for the same, so prebuilt engines are found in the cache.
pub fn build_config(sample: &[usize], batch: usize, options: &BuildOptions) -> BuildConfig {
    let shape = |b: usize| std::iter::once(b).chain(sample.iter().copied()).collect::<Vec<_>>();
    BuildConfig {
        precision: "fp32".into(),
        optimization_level: options.optimization_level,
        workspace_bytes: options.workspace_bytes,
        profiles: vec![ShapeProfile { input: "input".into(), min: shape(1), opt: shape(batch), max: shape(batch) }],
    }
}

/// Everything the builder is told besides the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildConfig {
    /// "fp32" or "fp16" (fp16 engines come from fp16 ONNX on TensorRT 11 and RTX; docs/gpu.md).
    pub precision: String,
    /// The builder optimization level, 0..=5.
    pub optimization_level: u8,
    pub workspace_bytes: u64,
    pub profiles: Vec<ShapeProfile>,
}

/// The hex SHA-256 key. `network_sha256` covers the ONNX file and its external weights. `gpu` is
/// required for TensorRT, whose plans are tuned for one GPU model; a TensorRT-RTX plan is built
/// ahead of time without a GPU and compiled for the GPU at load, so its key has no GPU in it.
pub fn engine_cache_key(
    network_sha256: &str,
    config: &BuildConfig,
    library: &TensorRtLibrary,
    gpu: Option<&GpuInfo>,
) -> Result<String, GpuError> {
    let gpu = match (library.flavor, gpu) {
        (Flavor::Rtx, _) => serde_json::Value::Null,
        (Flavor::TensorRt, Some(gpu)) => gpu_model(gpu),
        (Flavor::TensorRt, None) => {
            return Err(GpuError::Unsupported("a TensorRT engine is built for one GPU; none was given".into()))
        }
    };
    // serde_json's maps are sorted by key, so the text (and the key) does not depend on the order
    // fields are written in.
    let canonical = json!({
        "format": 1,
        "network_sha256": network_sha256,
        "precision": config.precision,
        "optimization_level": config.optimization_level,
        "workspace_bytes": config.workspace_bytes,
        "profiles": config.profiles.iter().map(|p| json!({"input": p.input, "min": p.min, "opt": p.opt, "max": p.max})).collect::<Vec<_>>(),
        "library": { "flavor": format!("{:?}", library.flavor), "version": [library.version.0, library.version.1, library.version.2] },
        "gpu": gpu,
    });
    Ok(crate::hash::sha256_hex(canonical.to_string().as_bytes()))
}

/// A GPU model as keys name it (not which ordinal it has here).
fn gpu_model(gpu: &GpuInfo) -> serde_json::Value {
    json!({
        "name": gpu.name,
        "compute_capability": [gpu.compute_capability.0, gpu.compute_capability.1],
        "multiprocessors": gpu.multiprocessors,
    })
}

/// The key of TensorRT-RTX's runtime cache for the engine under `engine_key` on `gpu`: the kernels
/// it compiles at load are for one GPU model, so that is part of the key (TensorRT-RTX refuses a
/// cache from another GPU or driver too; keying by GPU keeps two GPUs from replacing each other's).
pub fn runtime_cache_key(engine_key: &str, gpu: &GpuInfo) -> String {
    let canonical = json!({ "format": 1, "engine": engine_key, "gpu": gpu_model(gpu) });
    crate::hash::sha256_hex(canonical.to_string().as_bytes())
}

/// The file of TensorRT-RTX's runtime cache of one branch's engine on one GPU model.
pub fn runtime_cache_file_name(branch: &str, key: &str) -> String {
    format!("{branch}-{}.runtime", &key[..16.min(key.len())])
}

/// The cache file of one branch's engine.
pub fn cache_file_name(branch: &str, key: &str) -> String {
    format!("{branch}-{}.engine", &key[..16.min(key.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_cache_keys_name_the_engine_and_the_gpu_model_not_the_ordinal() {
        let gpu = gpu();
        let key = runtime_cache_key("e1", &gpu);
        assert_eq!(key, runtime_cache_key("e1", &gpu), "stable");
        assert_ne!(key, runtime_cache_key("e2", &gpu));
        let mut other_ordinal = gpu.clone();
        other_ordinal.ordinal = 3;
        assert_eq!(key, runtime_cache_key("e1", &other_ordinal));
        let mut other_model = gpu.clone();
        other_model.compute_capability = (8, 9);
        assert_ne!(key, runtime_cache_key("e1", &other_model));
        assert!(
            runtime_cache_file_name("liqe", &key).starts_with("liqe-")
                && runtime_cache_file_name("liqe", &key).ends_with(".runtime")
        );
        assert_ne!(runtime_cache_file_name("liqe", &key), cache_file_name("liqe", &key));
    }

    fn config() -> BuildConfig {
        BuildConfig {
            precision: "fp32".into(),
            optimization_level: 3,
            workspace_bytes: 1 << 30,
            profiles: vec![ShapeProfile {
                input: "frames".into(),
                min: vec![1, 3, 384, 384],
                opt: vec![8, 3, 384, 384],
                max: vec![8, 3, 384, 384],
            }],
        }
    }

    fn library(flavor: Flavor) -> TensorRtLibrary {
        TensorRtLibrary { path: "/x/libnvinfer.so.10".into(), flavor, version: (10, 13, 0) }
    }

    fn gpu() -> GpuInfo {
        GpuInfo {
            ordinal: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            compute_capability: (9, 0),
            multiprocessors: 132,
            memory_bytes: 80 << 30,
        }
    }

    #[test]
    fn engine_cache_keys_are_the_same_in_every_release() {
        // Every user's cached engines (and TensorRT-RTX runtime caches) are found under these
        // keys. A change to a key's text (a field, its name or order, serde_json's map order, the
        // hash) makes every cache miss and rebuild for minutes. Make such a change on purpose,
        // with "format" raised and a release note; then update the texts and their hashes here
        // (sha256sum of the text).
        let tensorrt = r#"{"format":1,"gpu":{"compute_capability":[9,0],"multiprocessors":132,"name":"NVIDIA H100 80GB HBM3"},"library":{"flavor":"TensorRt","version":[10,13,0]},"network_sha256":"aa","optimization_level":3,"precision":"fp32","profiles":[{"input":"frames","max":[8,3,384,384],"min":[1,3,384,384],"opt":[8,3,384,384]}],"workspace_bytes":1073741824}"#;
        let rtx = r#"{"format":1,"gpu":null,"library":{"flavor":"Rtx","version":[10,13,0]},"network_sha256":"aa","optimization_level":3,"precision":"fp32","profiles":[{"input":"frames","max":[8,3,384,384],"min":[1,3,384,384],"opt":[8,3,384,384]}],"workspace_bytes":1073741824}"#;
        for (text, hash, key) in [
            (
                tensorrt,
                "59b3b8891d1e05822be487ca4094997bf7baba3d83886fc0eb64669712d49e57",
                engine_cache_key("aa", &config(), &library(Flavor::TensorRt), Some(&gpu())).unwrap(),
            ),
            (
                rtx,
                "a0e6eb2f071d14f2ef1b6dea0cd8ef0d35dcf91920693e739c34219fd4d2885b",
                engine_cache_key("aa", &config(), &library(Flavor::Rtx), None).unwrap(),
            ),
            (
                r#"{"engine":"e1","format":1,"gpu":{"compute_capability":[9,0],"multiprocessors":132,"name":"NVIDIA H100 80GB HBM3"}}"#,
                "062c733e0c028d9dc364b459a5d620cf32fe12aa01674d6b7120c75a905fda42",
                runtime_cache_key("e1", &gpu()),
            ),
        ] {
            assert_eq!(crate::hash::sha256_hex(text.as_bytes()), hash);
            assert_eq!(key, hash, "the key is no longer the SHA-256 of {text}");
        }
    }

    #[test]
    fn every_input_of_the_build_changes_the_key() {
        let trt = library(Flavor::TensorRt);
        let base = engine_cache_key("aa", &config(), &trt, Some(&gpu())).unwrap();
        assert_eq!(base.len(), 64);
        assert_eq!(base, engine_cache_key("aa", &config(), &trt, Some(&gpu())).unwrap(), "the key is stable");

        let mut variants = vec![engine_cache_key("ab", &config(), &trt, Some(&gpu())).unwrap()];
        let mut c = config();
        c.precision = "fp16".into();
        variants.push(engine_cache_key("aa", &c, &trt, Some(&gpu())).unwrap());
        let mut c = config();
        c.optimization_level = 5;
        variants.push(engine_cache_key("aa", &c, &trt, Some(&gpu())).unwrap());
        let mut c = config();
        c.profiles[0].max[0] = 16;
        variants.push(engine_cache_key("aa", &c, &trt, Some(&gpu())).unwrap());
        let mut c = config();
        c.workspace_bytes = 2 << 30;
        variants.push(engine_cache_key("aa", &c, &trt, Some(&gpu())).unwrap());
        let mut other_release = trt.clone();
        other_release.version.2 = 1;
        variants.push(engine_cache_key("aa", &config(), &other_release, Some(&gpu())).unwrap());
        let mut g = gpu();
        g.multiprocessors = 114; // the PCIe H100
        variants.push(engine_cache_key("aa", &config(), &trt, Some(&g)).unwrap());
        let mut g = gpu();
        g.compute_capability = (8, 9);
        variants.push(engine_cache_key("aa", &config(), &trt, Some(&g)).unwrap());

        for (i, key) in variants.iter().enumerate() {
            assert_ne!(key, &base, "variant {i} kept the key");
        }
        let mut unique = variants.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), variants.len());
    }

    #[test]
    fn the_same_gpu_model_in_another_slot_shares_the_engine() {
        let trt = library(Flavor::TensorRt);
        let mut second = gpu();
        second.ordinal = 3;
        second.memory_bytes -= 1 << 20; // what is free differs; the model is the same
        assert_eq!(
            engine_cache_key("aa", &config(), &trt, Some(&gpu())).unwrap(),
            engine_cache_key("aa", &config(), &trt, Some(&second)).unwrap()
        );
    }

    #[test]
    fn rtx_plans_are_gpu_independent_and_tensorrt_plans_need_a_gpu() {
        let rtx = library(Flavor::Rtx);
        assert_eq!(
            engine_cache_key("aa", &config(), &rtx, None).unwrap(),
            engine_cache_key("aa", &config(), &rtx, Some(&gpu())).unwrap()
        );
        assert_ne!(
            engine_cache_key("aa", &config(), &rtx, None).unwrap(),
            engine_cache_key("aa", &config(), &library(Flavor::TensorRt), Some(&gpu())).unwrap()
        );
        assert!(engine_cache_key("aa", &config(), &library(Flavor::TensorRt), None).is_err());
        assert_eq!(cache_file_name("spatial", &"f".repeat(64)), "spatial-ffffffffffffffff.engine");
    }
}
