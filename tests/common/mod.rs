//! What the integration tests share: the one GPU of the process and the bundled digits.

#![allow(dead_code)]

use nanogan::io::data::Dataset;
use nanogan::Gpu;
use std::sync::OnceLock;

/// The process's GPU; a test without one fails, unless NANOGAN_ALLOW_NO_GPU=1 skips it on purpose.
pub fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    match GPU.get_or_init(|| Gpu::new_blocking().map_err(|e| e.to_string())) {
        Ok(g) => Some(g),
        Err(e) if std::env::var("NANOGAN_ALLOW_NO_GPU").as_deref() == Ok("1") => {
            eprintln!("skipping GPU test (NANOGAN_ALLOW_NO_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set NANOGAN_ALLOW_NO_GPU=1 to skip GPU tests on purpose)"),
    }
}

pub fn digits() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| Dataset::bundled().expect("bundled digits"))
}
