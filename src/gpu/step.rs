//! Recording: a step's dispatches go into a `Plan` that is encoded into one command encoder and
//! submitted at once. Bind groups and uniforms are made while recording, so replaying a plan
//! allocates and compiles nothing.

use crate::error::{Error, Result};
use crate::gpu::kernels::{Kernel, MAX_GROUPS};
use crate::gpu::Gpu;
use std::ops::Range;
use wgpu::util::DeviceExt;

enum Op {
    Dispatch { kernel: Kernel, pipeline: wgpu::ComputePipeline, bind_group: wgpu::BindGroup, groups: [u32; 3] },
    Clear { buffer: wgpu::Buffer },
    Copy { src: wgpu::Buffer, src_offset: u64, dst: wgpu::Buffer, dst_offset: u64, bytes: u64 },
}

/// A recorded list of GPU operations, replayable any number of times.
#[derive(Default)]
pub struct Plan {
    ops: Vec<Op>,
}

/// Records operations on `gpu` into a `Plan`.
pub struct Step<'g> {
    pub gpu: &'g Gpu,
    plan: Plan,
}

impl<'g> Step<'g> {
    pub fn new(gpu: &'g Gpu) -> Step<'g> {
        Step { gpu, plan: Plan::default() }
    }

    /// Records one dispatch. `params` becomes `@binding(0)`; `buffers` are bound whole at
    /// bindings 1.. in order (outputs first, then inputs).
    pub fn dispatch<U: bytemuck::Pod>(
        &mut self,
        kernel: Kernel,
        params: &U,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) -> Result<()> {
        self.dispatch_bytes(kernel, bytemuck::bytes_of(params), buffers, groups)
    }

    // Not generic, so the body is compiled once rather than once per parameter struct (a
    // dozen copies, 12 KB of the browser's wasm).
    fn dispatch_bytes(
        &mut self,
        kernel: Kernel,
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) -> Result<()> {
        if groups.iter().any(|&g| g > MAX_GROUPS) {
            return Err(Error::Limit(format!(
                "{} needs {groups:?} workgroups; WebGPU allows at most {MAX_GROUPS} per dimension",
                kernel.entry()
            )));
        }
        let pipeline = self.gpu.pipeline(kernel)?;
        let mut bytes = params.to_vec();
        bytes.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
        let uniform = self.gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(kernel.entry()),
            contents: &bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() });
        }
        let bind_group = self.gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.entry()),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.gpu.check().map_err(|e| Error::Device(format!("binding {}: {e}", kernel.entry())))?;
        if groups.iter().all(|&g| g > 0) {
            self.plan.ops.push(Op::Dispatch { kernel, pipeline, bind_group, groups });
        }
        Ok(())
    }

    /// Records zero-filling a whole buffer (zero-grad is one of these on the grads arena).
    pub fn clear(&mut self, buffer: &wgpu::Buffer) {
        self.plan.ops.push(Op::Clear { buffer: buffer.clone() });
    }

    /// Records copying `bytes` bytes from `src` at `src_offset` to `dst` at `dst_offset`.
    pub fn copy(&mut self, src: &wgpu::Buffer, src_offset: u64, dst: &wgpu::Buffer, dst_offset: u64, bytes: u64) {
        let (src, dst) = (src.clone(), dst.clone());
        self.plan.ops.push(Op::Copy { src, src_offset, dst, dst_offset, bytes });
    }

    pub fn finish(self) -> Plan {
        self.plan
    }

    /// Records nothing more and submits what was recorded, once.
    pub fn submit(self) -> Result<()> {
        let gpu = self.gpu;
        self.plan.submit(gpu)
    }
}

impl Plan {
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Compute dispatches recorded (clears and copies not counted).
    pub fn dispatches(&self) -> usize {
        self.ops.iter().filter(|op| matches!(op, Op::Dispatch { .. })).count()
    }

    /// Kernels in recording order (for tests and profiles).
    pub fn kernels(&self) -> Vec<Kernel> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Dispatch { kernel, .. } => Some(*kernel),
                _ => None,
            })
            .collect()
    }

    /// Encodes the whole plan into `encoder`; dispatches between clears and copies share a pass.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        self.encode_timed(encoder, None)
    }

    /// As `encode`; with a query set (2 timestamps), writes the GPU time at the start of the
    /// first compute pass and the end of the last one.
    pub fn encode_timed(&self, encoder: &mut wgpu::CommandEncoder, timestamps: Option<&wgpu::QuerySet>) {
        let first_pass = self.ops.iter().position(|op| matches!(op, Op::Dispatch { .. }));
        let is_dispatch = |op: &Op| matches!(op, Op::Dispatch { .. });
        let last_dispatch = self.ops.iter().rposition(is_dispatch).unwrap_or(0);
        let last_pass = self.ops[..last_dispatch].iter().rposition(|op| !is_dispatch(op)).map_or(0, |i| i + 1);
        let mut i = 0;
        while i < self.ops.len() {
            match &self.ops[i] {
                Op::Clear { buffer } => {
                    encoder.clear_buffer(buffer, 0, None);
                    i += 1;
                }
                Op::Copy { src, src_offset, dst, dst_offset, bytes } => {
                    encoder.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes);
                    i += 1;
                }
                Op::Dispatch { .. } => {
                    let timestamp_writes = timestamps.map(|query_set| wgpu::ComputePassTimestampWrites {
                        query_set,
                        beginning_of_pass_write_index: (Some(i) == first_pass).then_some(0),
                        end_of_pass_write_index: (i >= last_pass).then_some(1),
                    });
                    let mut pass =
                        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
                    while let Some(Op::Dispatch { pipeline, bind_group, groups, .. }) = self.ops.get(i) {
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, bind_group, &[]);
                        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                        i += 1;
                    }
                }
            }
        }
    }

    /// Encodes the dispatches numbered `dispatches` (counted in recording order), each in its own
    /// compute pass so it can be timed alone: the j-th of the range writes timestamps
    /// `first_query + 2j` at its start and `first_query + 2j + 1` at its end. The clears and
    /// copies recorded before a dispatch go with it, and those after the last dispatch go with
    /// the range that reaches the end, so encoding `0..a`, `a..b`, …, `z..dispatches()` in order
    /// (in one encoder or in successive submits) replays the plan exactly once. Returns the
    /// kernels encoded, in order.
    pub fn encode_profiled(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        query_set: &wgpu::QuerySet,
        first_query: u32,
        dispatches: Range<usize>,
    ) -> Result<Vec<Kernel>> {
        let needed = first_query as u64 + 2 * dispatches.len() as u64;
        if needed > query_set.count() as u64 {
            return Err(Error::Limit(format!(
                "profiling dispatches {dispatches:?} from query {first_query} needs {needed} timestamps; \
                 the query set holds {} (split the range)",
                query_set.count()
            )));
        }
        let total = self.dispatches();
        let owns_tail = dispatches.end >= total;
        let mut kernels = Vec::with_capacity(dispatches.len());
        // `d` is the number of the next dispatch, so a clear or copy belongs to the range that
        // holds dispatch `d` (or to the last range, when no dispatch follows it).
        let mut d = 0;
        for op in &self.ops {
            let mine = dispatches.contains(&d) || (d == total && owns_tail && dispatches.start <= total);
            match op {
                Op::Clear { buffer } if mine => encoder.clear_buffer(buffer, 0, None),
                Op::Copy { src, src_offset, dst, dst_offset, bytes } if mine => {
                    encoder.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes)
                }
                Op::Dispatch { kernel, pipeline, bind_group, groups } => {
                    if mine {
                        let q = first_query + 2 * kernels.len() as u32;
                        let timestamp_writes = Some(wgpu::ComputePassTimestampWrites {
                            query_set,
                            beginning_of_pass_write_index: Some(q),
                            end_of_pass_write_index: Some(q + 1),
                        });
                        let mut pass =
                            encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, bind_group, &[]);
                        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                        kernels.push(*kernel);
                    }
                    d += 1;
                }
                _ => {}
            }
        }
        Ok(kernels)
    }

    /// One encoder, one submit.
    pub fn submit(&self, gpu: &Gpu) -> Result<()> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder);
        gpu.queue.submit([encoder.finish()]);
        gpu.check()
    }
}

/// Replays `plans` in order with every dispatch in its own timed compute pass, and returns each
/// dispatch's kernel and GPU milliseconds. Separate passes cost a little more than the shared
/// ones `encode` makes, so the sum slightly exceeds a normal replay. Needs timestamp queries
/// (`Gpu::has_timestamps`); more dispatches than one query set holds go in several submits.
pub async fn profile(gpu: &Gpu, plans: &[&Plan]) -> Result<Vec<(Kernel, f64)>> {
    if !gpu.has_timestamps() {
        return Err(Error::Device(format!("{} has no timestamp queries to profile with", gpu.describe())));
    }
    let capacity = wgpu::QUERY_SET_MAX_QUERIES;
    let query_set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("profile"),
        ty: wgpu::QueryType::Timestamp,
        count: capacity,
    });
    let resolved = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("profile timestamps"),
        size: capacity as u64 * wgpu::QUERY_SIZE as u64,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let per_submit = capacity as usize / 2;
    let mut batch = Batch { encoder: gpu.device.create_command_encoder(&Default::default()), kernels: Vec::new() };
    let mut out = Vec::new();
    for plan in plans {
        let total = plan.dispatches();
        let mut from = 0;
        loop {
            let to = total.min(from + per_submit - batch.kernels.len());
            let first_query = 2 * batch.kernels.len() as u32;
            let kernels = plan.encode_profiled(&mut batch.encoder, &query_set, first_query, from..to)?;
            batch.kernels.extend(kernels);
            from = to;
            if batch.kernels.len() == per_submit {
                out.extend(batch.finish(gpu, &query_set, &resolved).await?);
            }
            if from >= total {
                break;
            }
        }
    }
    out.extend(batch.finish(gpu, &query_set, &resolved).await?);
    Ok(out)
}

/// One submit's worth of profiled dispatches.
struct Batch {
    encoder: wgpu::CommandEncoder,
    kernels: Vec<Kernel>,
}

impl Batch {
    /// Submits what is encoded, reads its timestamps back and starts an empty batch.
    async fn finish(
        &mut self,
        gpu: &Gpu,
        query_set: &wgpu::QuerySet,
        resolved: &wgpu::Buffer,
    ) -> Result<Vec<(Kernel, f64)>> {
        let mut encoder = std::mem::replace(&mut self.encoder, gpu.device.create_command_encoder(&Default::default()));
        let kernels = std::mem::take(&mut self.kernels);
        let queries = 2 * kernels.len() as u32;
        if queries > 0 {
            encoder.resolve_query_set(query_set, 0..queries, resolved, 0);
        }
        gpu.queue.submit([encoder.finish()]);
        gpu.check()?;
        if kernels.is_empty() {
            return Ok(Vec::new());
        }
        let bytes = gpu.read_bytes(resolved, queries as u64 * wgpu::QUERY_SIZE as u64).await?;
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
        let ms_per_tick = gpu.queue.get_timestamp_period() as f64 / 1e6;
        Ok(kernels
            .into_iter()
            .zip(ticks.chunks_exact(2))
            .map(|(k, t)| (k, t[1].saturating_sub(t[0]) as f64 * ms_per_tick))
            .collect())
    }
}
