//! The device: adapter choice, the WebGPU-default limits, the pipeline cache, upload and readback.
//!
//! `Gpu::new().await` is the only place an adapter is requested; everything else takes `&Gpu`.
//! An application that already renders with wgpu hands us its device with `Gpu::from_device`.

use crate::error::{Error, Result};
use crate::gpu::kernels::{Family, Kernel, Variant};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use wgpu::util::DeviceExt;

/// What to tell a user whose machine shows no adapter.
pub const NO_ADAPTER_HELP: &str = "nanogan needs a Vulkan, Metal or DX12 driver. \
On Linux without a GPU, install Mesa's software Vulkan driver (lavapipe): \
`sudo apt-get install mesa-vulkan-drivers` on Debian/Ubuntu, `sudo dnf install mesa-vulkan-drivers` \
on Fedora. With a GPU, install its vendor's Vulkan driver.";

pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    modules: Mutex<HashMap<Family, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    /// Which style of the kernel families that have several (see `Variant`).
    variant: Variant,
    /// Bytes of the storage buffers created through this `Gpu`, less the workspaces replaced by
    /// larger ones: a figure for benchmarks, read as a difference around the code that
    /// allocates (buffers are otherwise never subtracted).
    allocated: AtomicU64,
    /// Workspace buffers shared by every dispatch that needs one (split-K partial sums, im2col
    /// columns), by role; they only grow. Dispatches run in order, so sharing is safe.
    scratch: Mutex<HashMap<Scratch, wgpu::Buffer>>,
    /// How many times a workspace was created or replaced (see `record_settled`).
    scratch_growths: AtomicU64,
    /// wgpu reports validation errors through a callback; we keep the first one and turn it
    /// into an `Error` at the next `check`, instead of letting wgpu panic.
    first_error: Arc<Mutex<Option<String>>>,
    /// Set once, by wgpu's device-lost callback (a driver reset, an unplugged GPU, `destroy`);
    /// every `check` after it fails.
    lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Finds an adapter and opens a device with the WebGPU default limits.
    /// `NANOGAN_ADAPTER=<substring>` picks an adapter by (case-insensitive) name.
    pub async fn new() -> Result<Gpu> {
        Variant::from_env().map_err(Error::Param)?;
        let wanted = adapter_filter();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = pick_adapter(&instance, wanted.as_deref()).await?;
        let info = adapter.get_info();
        let mut features = wgpu::Features::empty();
        // Timestamps make the benchmark honest; only native adapters expose them without flags.
        if !cfg!(target_arch = "wasm32") && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("nanogan"),
            required_features: features,
            required_limits: wgpu::Limits::default(),
            ..Default::default()
        };
        let (device, queue) = adapter.request_device(&desc).await.map_err(|e| {
            Error::Device(format!(
                "adapter '{}' ({:?}) refused a device with the WebGPU default limits: {e}",
                info.name, info.backend
            ))
        })?;
        Ok(Gpu::from_device(device, queue, info))
    }

    /// Blocking `new` for native programs and tests.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Gpu> {
        pollster::block_on(Gpu::new())
    }

    /// Wraps a device the host application already owns, so it need not open a second one.
    /// The device should have at least the WebGPU default limits.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Gpu {
        let first_error = Arc::new(Mutex::new(None::<String>));
        let sink = first_error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None::<String>));
        let sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = sink.lock() {
                let detail = if message.is_empty() { String::new() } else { format!(": {message}") };
                slot.get_or_insert_with(|| {
                    format!(
                        "the GPU device was lost ({reason:?}{detail}): the driver reset, the GPU went away or the \
                         device was destroyed, and nothing more can run on it; nothing was written after this, so \
                         restart and resume from the last checkpoint (--resume)"
                    )
                });
            }
        });
        // `new` has already refused an unknown NANOGAN_KERNELS; here it falls back to the adapter's.
        let variant = Variant::from_env().ok().flatten().unwrap_or_else(|| Variant::for_device(info.device_type));
        Gpu::with_parts(device, queue, info, variant, [first_error, lost])
    }

    /// A `Gpu` over these parts with empty caches, workspaces and counters.
    fn with_parts(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
        variant: Variant,
        [first_error, lost]: [Arc<Mutex<Option<String>>>; 2],
    ) -> Gpu {
        Gpu {
            device,
            queue,
            info,
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            variant,
            allocated: AtomicU64::new(0),
            scratch: Mutex::new(HashMap::new()),
            scratch_growths: AtomicU64::new(0),
            first_error,
            lost,
        }
    }

    /// The same device with another kernel variant and empty caches (tests and benchmarks run
    /// every variant on one device this way).
    /// Validation errors keep going to the one slot `from_device` installed (a device has one
    /// error handler), so `check` works on either.
    pub fn with_variant(&self, variant: Variant) -> Gpu {
        let (device, queue, info) = (self.device.clone(), self.queue.clone(), self.info.clone());
        Gpu::with_parts(device, queue, info, variant, [self.first_error.clone(), self.lost.clone()])
    }

    /// The kernel style chosen for this adapter, or forced by `NANOGAN_KERNELS`.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Bytes of all storage buffers created so far through this `Gpu`, workspaces included.
    pub fn allocated_bytes(&self) -> u64 {
        self.allocated.load(Ordering::Relaxed)
    }

    /// The workspace for `role`, at least `bytes` long. A larger request replaces it; plans
    /// recorded earlier keep the buffer they bound, alive, until they are dropped (record them
    /// with `record_settled` so that none does). `allocated_bytes` counts the replaced one as
    /// freed.
    pub fn scratch(&self, role: Scratch, bytes: u64) -> Result<wgpu::Buffer> {
        let mut pool = self.scratch.lock().map_err(|_| Error::Device("scratch pool poisoned".into()))?;
        if let Some(b) = pool.get(&role).filter(|b| b.size() >= bytes) {
            return Ok(b.clone());
        }
        let buffer = self.storage(role.label(), bytes)?;
        if let Some(old) = pool.insert(role, buffer.clone()) {
            self.allocated.fetch_sub(old.size(), Ordering::Relaxed);
        }
        self.scratch_growths.fetch_add(1, Ordering::Relaxed);
        Ok(buffer)
    }

    /// Runs `record` (which records plans) and, if a workspace grew meanwhile, drops what it
    /// returned and runs it again: the second time every workspace is already as large as any
    /// dispatch needs, so the plans share one buffer per role instead of holding every smaller
    /// one they outgrew.
    pub fn record_settled<T>(&self, record: impl Fn() -> Result<T>) -> Result<T> {
        let before = self.scratch_growths.load(Ordering::Relaxed);
        let first = record()?;
        if self.scratch_growths.load(Ordering::Relaxed) == before {
            return Ok(first);
        }
        drop(first);
        record()
    }

    /// One line for logs: adapter name and backend.
    pub fn describe(&self) -> String {
        // Browsers keep adapter names private, so wgpu reports an empty one there.
        let name = if self.info.name.is_empty() { "WebGPU adapter" } else { &self.info.name };
        format!("{name} ({:?}, {:?}, {} kernels)", self.info.backend, self.info.device_type, self.variant.name())
    }

    pub fn has_timestamps(&self) -> bool {
        self.device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Turns the first wgpu validation error since the last call into an `Error`; once the
    /// device is lost, every call fails with that.
    pub fn check(&self) -> Result<()> {
        if let Some(m) = self.lost.lock().map_err(|_| Error::Device("error slot poisoned".into()))?.as_ref() {
            return Err(Error::Device(m.clone()));
        }
        let mut slot = self.first_error.lock().map_err(|_| Error::Device("error slot poisoned".into()))?;
        match slot.take() {
            Some(m) => Err(Error::Device(m)),
            None => Ok(()),
        }
    }

    /// The cached pipeline for `kernel`; built (with its family's module) on first use.
    pub fn pipeline(&self, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        let mut pipelines = self.pipelines.lock().map_err(|_| Error::Device("pipeline cache poisoned".into()))?;
        if let Some(p) = pipelines.get(&kernel) {
            return Ok(p.clone());
        }
        let family = kernel.family();
        let module = {
            let mut modules = self.modules.lock().map_err(|_| Error::Device("module cache poisoned".into()))?;
            modules
                .entry(family)
                .or_insert_with(|| {
                    self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(family.name()),
                        source: wgpu::ShaderSource::Wgsl(family.source().into()),
                    })
                })
                .clone()
        };
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry()),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry()),
            compilation_options: Default::default(),
            cache: None,
        });
        self.check().map_err(|e| Error::Shader(format!("building {}: {e}", kernel.entry())))?;
        pipelines.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }

    /// A storage buffer of `bytes` bytes, zero-filled, within the device's binding limit.
    /// Sizes round up to 16 bytes, so any buffer may also be bound as `array<vec4<f32>>`.
    pub fn storage(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        self.check_binding_size(label, bytes)?;
        let size = bytes.max(16).next_multiple_of(16);
        self.allocated.fetch_add(size, Ordering::Relaxed);
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: storage_usage(),
            mapped_at_creation: false,
        }))
    }

    /// A storage buffer holding `data`.
    pub fn storage_init(&self, label: &str, data: &[u8]) -> Result<wgpu::Buffer> {
        self.check_binding_size(label, data.len() as u64)?;
        let size = (data.len() as u64).max(16).next_multiple_of(16);
        if size != data.len() as u64 {
            let buffer = self.storage(label, size)?;
            if !data.is_empty() {
                // write_buffer needs a multiple of 4 bytes; the padding stays zero.
                let mut padded = data.to_vec();
                padded.resize(data.len().next_multiple_of(4), 0);
                self.queue.write_buffer(&buffer, 0, &padded);
            }
            return Ok(buffer);
        }
        self.allocated.fetch_add(size, Ordering::Relaxed);
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: data,
            usage: storage_usage(),
        }))
    }

    /// The largest storage buffer one dispatch can bind on this device, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        let limits = self.device.limits();
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
    }

    fn check_binding_size(&self, label: &str, bytes: u64) -> Result<()> {
        let max = self.max_binding_bytes();
        if bytes > max {
            return Err(Error::Limit(format!(
                "buffer '{label}' needs {bytes} bytes but the device binds at most {max} bytes per storage buffer"
            )));
        }
        Ok(())
    }

    /// Copies `bytes` bytes of `buffer` back to the host. Waits for all submitted work.
    pub async fn read_bytes(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let size = bytes.div_ceil(4) * 4;
        if size == 0 {
            return Ok(Vec::new());
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let mapped = MapFuture::default();
        let slot = mapped.state.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            if let Ok(mut s) = slot.lock() {
                s.0 = Some(r.map_err(|e| e.to_string()));
                if let Some(w) = s.1.take() {
                    w.wake();
                }
            }
        });
        // Natively the callback only fires inside poll; in the browser the event loop runs it.
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Readback(format!("waiting for the GPU: {e}")))?;
        let mapped = mapped.await;
        // A lost device or a validation error explains a failed mapping better than the mapping.
        self.check()?;
        mapped.map_err(|e| Error::Readback(format!("mapping buffer: {e}")))?;
        let data = {
            let view = staging.get_mapped_range(..).map_err(|e| Error::Readback(format!("mapped range: {e}")))?;
            view[..bytes as usize].to_vec()
        };
        staging.unmap();
        Ok(data)
    }

    pub async fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(buffer, (len * 4) as u64).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_f32_blocking(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.read_f32(buffer, len))
    }

    /// Blocks until all submitted work has finished (native only; the browser cannot block).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        self.check()
    }
}

/// Roles of the shared workspaces (`Gpu::scratch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scratch {
    /// Split-K partial products, reduced by a second pass.
    SplitK,
    /// Convolution columns (im2col of the image side, or their gradient).
    Columns,
    /// The small side of a convolution, channel-major (C, N·H·W).
    ChannelMajor,
}

impl Scratch {
    fn label(self) -> &'static str {
        match self {
            Scratch::SplitK => "split-K partial sums",
            Scratch::Columns => "convolution columns",
            Scratch::ChannelMajor => "channel-major copy",
        }
    }
}

fn storage_usage() -> wgpu::BufferUsages {
    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST
}

fn adapter_filter() -> Option<String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("NANOGAN_ADAPTER").ok().filter(|s| !s.is_empty())
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}

async fn pick_adapter(instance: &wgpu::Instance, wanted: Option<&str>) -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        let names: Vec<String> =
            adapters.iter().map(|a| format!("'{}' ({:?})", a.get_info().name, a.get_info().backend)).collect();
        let rank = |t: wgpu::DeviceType| match t {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        };
        let mut candidates: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| match wanted {
                Some(w) => a.get_info().name.to_lowercase().contains(&w.to_lowercase()),
                None => true,
            })
            .collect();
        candidates.sort_by_key(|a| rank(a.get_info().device_type));
        match (candidates.into_iter().next(), wanted) {
            (Some(a), _) => Ok(a),
            (None, Some(w)) => Err(Error::NoAdapter(format!(
                "NANOGAN_ADAPTER='{w}' matches none of the adapters found: [{}]",
                names.join(", ")
            ))),
            (None, None) => Err(Error::NoAdapter(NO_ADAPTER_HELP.to_string())),
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = wanted;
        instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::NoAdapter(format!(
                    "this browser has no WebGPU adapter ({e}); use a recent Chrome, Edge or Safari, \
                     or enable WebGPU in the browser's flags"
                ))
            })
    }
}

/// A future completed by `map_async`'s callback; works natively (after poll) and in browsers.
#[derive(Default)]
struct MapFuture {
    #[allow(clippy::type_complexity)]
    state: Arc<Mutex<(Option<std::result::Result<(), String>>, Option<Waker>)>>,
}

impl Future for MapFuture {
    type Output = std::result::Result<(), String>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(mut s) = self.state.lock() else {
            return Poll::Ready(Err("map state poisoned".into()));
        };
        match s.0.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
