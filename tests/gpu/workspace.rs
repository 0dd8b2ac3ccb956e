//! Shared workspaces: plans recorded with `record_settled` bind one buffer per role.

use crate::support::gpu;
use nanogan::gpu::Scratch;
use std::cell::Cell;

#[test]
fn record_settled_rerecords_after_a_workspace_grows() {
    let Some(base) = gpu() else { return };
    // A device of its own, so no other test's workspaces are in its pool.
    let gpu = base.with_variant(base.variant());
    let before = gpu.allocated_bytes();
    let runs = Cell::new(0);
    let record = || {
        runs.set(runs.get() + 1);
        // The first request is outgrown by the second, as when a later layer needs more.
        let small = gpu.scratch(Scratch::SplitK, 1_000)?;
        let large = gpu.scratch(Scratch::SplitK, 100_000)?;
        Ok((small, large))
    };
    let (small, large) = gpu.record_settled(record).unwrap();
    assert_eq!(runs.get(), 2, "a workspace grew, so the recording runs again");
    assert_eq!(small.size(), large.size(), "both requests share the final buffer");
    assert_eq!(gpu.allocated_bytes() - before, large.size(), "the outgrown buffer is counted as freed");
    // Nothing grows now: one run.
    runs.set(0);
    gpu.record_settled(record).unwrap();
    assert_eq!(runs.get(), 1);
}
