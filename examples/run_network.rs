//! Runs one ONNX network on the CPU backend, for tools/fixtures/full_size_parity.py:
//!
//!     run_network MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32
//!
//! INPUT.f32 holds the batch as little-endian float32 in the given shape; OUTPUT.f32 receives the
//! output the same way, and its shape is printed on stdout (comma-separated).

use std::process::ExitCode;

use vsrqa::backend::{cpu::CpuBackend, Backend};

fn run(args: &[String]) -> Result<(), String> {
    let [model, input, shape, output] = args else {
        return Err("usage: run_network MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32".into());
    };
    let shape: Vec<usize> = shape
        .split(',')
        .map(|d| d.parse().map_err(|e| format!("bad shape '{shape}': {e}")))
        .collect::<Result<_, _>>()?;
    let (batch, sample) = shape.split_first().ok_or("empty shape")?;
    let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let data: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "{input} holds {} floats, the shape {shape:?} needs {}",
            data.len(),
            shape.iter().product::<usize>()
        ));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let network = CpuBackend::new(threads).load_network(model.as_ref(), sample).map_err(|e| e.to_string())?;
    let result = network.run(*batch, &data).map_err(|e| e.to_string())?;
    let out: Vec<u8> = result.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(output, out).map_err(|e| format!("{output}: {e}"))?;
    println!("{}", result.shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("run_network: {message}");
            ExitCode::FAILURE
        }
    }
}
