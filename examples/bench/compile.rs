//! Pipeline build times: what a first training step waits for before any kernel runs (a
//! software adapter compiles every entry point to machine code, the browser's SwiftShader
//! included). Each entry point is built once, in the order of `Kernel::ALL`, on a fresh `Gpu`
//! so nothing is cached, and timed until the device is idle; the slowest are listed first.
//!
//!     cargo run --release --example bench -- --compile

use nanogan::{Gpu, Kernel, Result};
use std::time::Instant;

pub fn run() -> Result<()> {
    let gpu = Gpu::new_blocking()?;
    println!("adapter: {}", gpu.describe());
    let mut times = Vec::new();
    let all = Instant::now();
    for kernel in Kernel::ALL {
        let t = Instant::now();
        gpu.pipeline(kernel)?;
        gpu.wait()?;
        times.push((t.elapsed().as_secs_f64() * 1e3, kernel.entry()));
    }
    let total = all.elapsed().as_secs_f64() * 1e3;
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("{} entry points built in {total:.0} ms (the first of a family also parses its module)", times.len());
    for (ms, entry) in times {
        println!("{ms:>9.1} ms  {entry}");
    }
    Ok(())
}
