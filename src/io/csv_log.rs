//! The CSV logs a training run appends to (`losses.csv`, `metrics.csv`), first column the step.

use crate::error::{io_error, Result};
use crate::io::checkpoint::write_atomic;
use std::path::Path;

/// Drops the rows after `step`, keeping the header: a run that died after its last checkpoint
/// logged steps that the resumed run will log again.
pub fn forget_after(path: &Path, step: u64) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(path, e)),
    };
    let row_step = |line: &str| line.split(',').next().and_then(|s| s.trim().parse::<u64>().ok());
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, line)| *i == 0 || row_step(line).is_some_and(|s| s <= step))
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    if kept != text {
        write_atomic(path, kept.as_bytes())?;
    }
    Ok(())
}
