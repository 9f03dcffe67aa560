//! `vsrqa info`: what a bundle contains and where it can run.

use std::path::PathBuf;

use serde_json::json;
use vsrqa::backend::{self, cuda_device, tensorrt, BackendKind};
use vsrqa::bundle::{Bundle, Origin, Scope};
use vsrqa::{Engine, EngineOptions};

use super::{print_json, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The model bundle directory (holding vsrqa.json).
    #[arg(long, short = 'm', value_name = "DIR")]
    model: PathBuf,
    /// Also load every network, to check that it runs here: on the CPU backend, or for a bundle
    /// with networks in another precision than fp32, on the backend `auto` takes for it.
    #[arg(long)]
    check: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let bundle = Bundle::load(&args.model)?;
    // What `auto` takes (the fastest usable for this bundle; should that backend fail to start,
    // the engine takes the next one and its log says so).
    let (auto, auto_reason) = vsrqa::engine::auto_choice_for(&bundle);
    let checked_on = if args.check {
        let all_fp32 = bundle.manifest.branches.iter().all(|branch| branch.precision.is_fp32());
        let options =
            EngineOptions { backend: if all_fp32 { BackendKind::Cpu } else { auto }, ..EngineOptions::default() };
        Some(Engine::new(&args.model, options)?.backend())
    } else {
        None
    };
    let manifest = &bundle.manifest;
    let branches: Vec<serde_json::Value> = manifest
        .branches
        .iter()
        .zip(&bundle.networks)
        .map(|(branch, file)| {
            let frames = match (branch.scope, branch.window) {
                (Scope::Window, Some(w)) => w.frames,
                _ => 1,
            };
            json!({
                "name": branch.name,
                "kind": branch.kind,
                "scope": branch.scope,
                "frames_per_sample": frames,
                "input": [3, branch.input.height, branch.input.width],
                "sample_shape": branch.sample_shape(),
                "output_dim": branch.output_dim,
                "network": file.path,
                "precision": branch.precision.name(),
                "sha256": file.sha256,
                "provenance": manifest.branch_origin(&branch.name),
            })
        })
        .collect();
    // An ensemble's members: each one's own networks (by branch) and head weights.
    let members: Vec<serde_json::Value> = bundle
        .members
        .iter()
        .map(|member| {
            let networks: serde_json::Map<String, serde_json::Value> = member
                .networks
                .iter()
                .map(|(b, file)| {
                    (manifest.branches[*b].name.clone(), json!({ "path": file.path, "sha256": file.sha256 }))
                })
                .collect();
            let own = manifest.members.iter().find(|m| m.name == member.name);
            let head_weights = own.and_then(|m| m.head_weights.as_deref()).unwrap_or(&manifest.head.weights);
            let origin = manifest.provenance.as_ref().and_then(|p| p.members.get(&member.name));
            json!({ "name": member.name, "networks": networks, "head_weights": head_weights, "provenance": origin })
        })
        .collect();
    let availability = backend::availability();
    let backends: Vec<serde_json::Value> = availability
        .into_iter()
        .map(|(kind, status)| match status {
            Ok(()) if kind == backend::BackendKind::OnnxRuntime => json!({
                "name": kind.name(), "available": true, "library": backend::onnxruntime::loaded_library()
            }),
            Ok(()) => json!({ "name": kind.name(), "available": true }),
            Err(error) => json!({ "name": kind.name(), "available": false, "reason": error.detail() }),
        })
        .collect();
    let report = json!({
        "gpu": gpu_report(),
        "vsrqa_version": vsrqa::VERSION,
        "bundle": bundle.dir,
        "name": manifest.name,
        "profile": manifest.profile,
        "key_frames": manifest.key_frames,
        "branches": branches,
        "feature_dim": bundle.feature_dim(),
        "members": members,
        "head": {
            "input_dim": manifest.head.input_dim,
            "layers": manifest.head.layers.len(),
            "output_activation": manifest.head.output_activation,
            "activation_stage": manifest.head.activation_stage,
            "temporal_pooling": manifest.head.temporal_pooling,
            "provenance": manifest.head_origin(),
        },
        "provenance_warning": bundle.provenance_warning(),
        "networks_checked_on_cpu": checked_on == Some(BackendKind::Cpu),
        "networks_checked_on": checked_on.map(BackendKind::name),
        "backends": backends,
        "auto_backend": auto.name(),
        "auto_reason": auto_reason,
    });
    if args.json {
        return print_json(&report);
    }
    print_text(&report);
    Ok(())
}

/// The GPU path's pieces on this host: the driver's devices and the TensorRT library, each with
/// the reason when missing.
fn gpu_report() -> serde_json::Value {
    let devices = match cuda_device::devices() {
        Ok(devices) => json!({ "found": devices.iter().map(|d| json!({
            "ordinal": d.ordinal,
            "name": d.name,
            "compute_capability": format!("{}.{}", d.compute_capability.0, d.compute_capability.1),
            "multiprocessors": d.multiprocessors,
            "memory_bytes": d.memory_bytes,
            "description": d.describe(),
        })).collect::<Vec<_>>() }),
        Err(reason) => json!({ "found": [], "reason": reason.to_string() }),
    };
    let library = match tensorrt::library::probe() {
        Ok(library) => json!({ "found": true, "path": library.path, "description": library.describe() }),
        Err(reason) => json!({ "found": false, "reason": reason.to_string() }),
    };
    // The headers this build's TensorRT runner is compiled against, which decide the libraries it
    // can drive (null: no runner).
    let runner = tensorrt::library::compiled()
        .map(|headers| json!({ "headers": headers.describe(), "drives": headers.drives() }));
    json!({ "devices": devices, "tensorrt_library": library, "tensorrt_runner": runner })
}

/// Where each network's and the head's weights came from, and the warning when some are random
/// or unrecorded.
fn print_provenance(report: &serde_json::Value) {
    let describe = |origin: &serde_json::Value| match serde_json::from_value::<Origin>(origin.clone()) {
        Ok(origin) => origin.describe(),
        Err(_) => "not recorded".to_owned(),
    };
    println!("provenance");
    for b in report["branches"].as_array().into_iter().flatten() {
        println!("  {:<10} {}", b["name"].as_str().unwrap_or("?"), describe(&b["provenance"]));
    }
    println!("  {:<10} {}", "head", describe(&report["head"]["provenance"]));
    if let Some(warning) = report["provenance_warning"].as_str() {
        println!("warning  {warning}");
    }
}

fn print_text(report: &serde_json::Value) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    println!("bundle   {} ({}, profile {})", text(&report["bundle"]), text(&report["name"]), text(&report["profile"]));
    println!("key frames {}", report["key_frames"]);
    println!("branches");
    for b in report["branches"].as_array().into_iter().flatten() {
        println!(
            "  {:<10} {:<9} {:<9} sample {} -> {} features   {}   sha256 {}",
            text(&b["name"]),
            text(&b["kind"]),
            text(&b["scope"]),
            b["sample_shape"],
            b["output_dim"],
            text(&b["precision"]),
            text(&b["sha256"]),
        );
    }
    let head = &report["head"];
    println!(
        "head     {} features, {} layers, output {} ({}), pooling {}",
        head["input_dim"],
        head["layers"],
        text(&head["output_activation"]),
        text(&head["activation_stage"]),
        text(&head["temporal_pooling"])
    );
    if let Some(members) = report["members"].as_array().filter(|m| !m.is_empty()) {
        println!("ensemble of {} members (scores are their mean)", members.len());
        let width = members.iter().map(|m| text(&m["name"]).len()).max().unwrap_or(0);
        for member in members {
            let own: Vec<&str> =
                member["networks"].as_object().into_iter().flatten().map(|(b, _)| b.as_str()).collect();
            let own =
                if own.is_empty() { "the shared networks".to_owned() } else { format!("its own {}", own.join(", ")) };
            let origin = serde_json::from_value::<Origin>(member["provenance"].clone())
                .map(|origin| format!(" ({})", origin.describe()))
                .unwrap_or_default();
            println!("  {:<width$} {own}, head {}{origin}", text(&member["name"]), text(&member["head_weights"]));
        }
    }
    print_provenance(report);
    if let Some(backend) = report["networks_checked_on"].as_str() {
        println!("networks load and optimize on the {backend} backend");
    }
    let gpu = &report["gpu"];
    match gpu["devices"]["found"].as_array() {
        Some(found) if !found.is_empty() => {
            for d in found {
                println!("gpu      {}", text(&d["description"]));
            }
        }
        _ => println!("gpu      none: {}", text(&gpu["devices"]["reason"])),
    }
    match gpu["tensorrt_library"]["found"].as_bool() {
        Some(true) => println!(
            "tensorrt {} ({})",
            text(&gpu["tensorrt_library"]["description"]),
            text(&gpu["tensorrt_library"]["path"])
        ),
        _ => println!("tensorrt none: {}", text(&gpu["tensorrt_library"]["reason"])),
    }
    match gpu["tensorrt_runner"].as_object() {
        Some(runner) => println!(
            "runner   compiled against {} headers (drives {})",
            text(&runner["headers"]),
            text(&runner["drives"])
        ),
        None => println!("runner   none (built without the `tensorrt-rtx` or `tensorrt` feature)"),
    }
    println!("backends");
    for b in report["backends"].as_array().into_iter().flatten() {
        match b["available"].as_bool() {
            Some(true) if b["library"].is_string() => {
                println!("  {:<9} available ({})", text(&b["name"]), text(&b["library"]))
            }
            Some(true) => println!("  {:<9} available", text(&b["name"])),
            _ => println!("  {:<9} unavailable: {}", text(&b["name"]), text(&b["reason"])),
        }
    }
    println!("  auto      -> {} (the fastest usable here for this bundle)", text(&report["auto_backend"]));
}
