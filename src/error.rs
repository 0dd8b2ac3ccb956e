//! One error type for the whole crate. Every message names the offending thing and, where
//! there is one, the fix.

use std::fmt;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub enum Error {
    /// No GPU adapter could be found (or none matched `NANOGAN_ADAPTER`).
    NoAdapter(String),
    /// The adapter refused to give us a device.
    Device(String),
    /// A WGSL module failed to compile or a pipeline failed to build.
    Shader(String),
    /// Tensor shapes do not fit together.
    Shape(String),
    /// A size or count exceeds what the device (or WebGPU) allows.
    Limit(String),
    /// A bad layer or optimiser parameter (stride 0, kernel larger than input, ...).
    Param(String),
    /// A data file is not what it claims to be.
    Format(String),
    /// File-system trouble, with the path it happened on.
    Io(String),
    /// Reading a buffer back from the GPU failed.
    Readback(String),
    /// Training produced NaN or Inf.
    NonFinite(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAdapter(m) => write!(f, "no GPU adapter: {m}"),
            Error::Device(m) => write!(f, "GPU device: {m}"),
            Error::Shader(m) => write!(f, "shader: {m}"),
            Error::Shape(m) => write!(f, "shape mismatch: {m}"),
            Error::Limit(m) => write!(f, "limit exceeded: {m}"),
            Error::Param(m) => write!(f, "bad parameter: {m}"),
            Error::Format(m) => write!(f, "data format: {m}"),
            Error::Io(m) => write!(f, "io: {m}"),
            Error::Readback(m) => write!(f, "readback: {m}"),
            Error::NonFinite(m) => write!(f, "non-finite value: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Builds an `Error::Io` that names the path, so "No such file" never arrives without one.
pub fn io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}
