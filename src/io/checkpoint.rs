//! Checkpoints in safetensors format. Tensor names follow PyTorch's `state_dict`
//! (`generator.0.weight`, `discriminator.3.running_mean`); the Adam moments ride along as
//! `optim.<name>.exp_avg` / `.exp_avg_sq` (PyTorch's names for them) so `--resume` continues
//! exactly; each model's clock (steps taken) and the training config are metadata.
//! Weights may be stored as f16 for small downloads (sampling only: no optimiser state).

use crate::error::{Error, Result};
use crate::gpu::arena::{Kind, CLOCK_SLOTS};
use crate::gpu::Gpu;
use crate::io::safetensors;
use crate::nn::model::Sequential;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Stored {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, Stored>,
    pub metadata: BTreeMap<String, String>,
}

fn optim_name(name: &str, moment: &str) -> String {
    format!("optim.{name}.{moment}")
}

impl Checkpoint {
    /// Reads a model's parameters, running statistics, and (if `optimizer`) its Adam moments and
    /// clock back from the GPU into this checkpoint.
    pub async fn capture(&mut self, gpu: &Gpu, model: &Sequential, optimizer: bool) -> Result<()> {
        let a = &model.arena;
        let params = gpu.read_f32(&a.params, a.params_len).await?;
        let state = gpu.read_f32(&a.state, a.state_len).await?;
        let (m, v) = if optimizer {
            (gpu.read_f32(&a.m, a.params_len).await?, gpu.read_f32(&a.v, a.params_len).await?)
        } else {
            (Vec::new(), Vec::new())
        };
        for e in &a.entries {
            let range = e.slot.offset as usize..(e.slot.offset + e.slot.len) as usize;
            let source = if e.kind == Kind::Param { &params } else { &state };
            self.tensors
                .insert(e.name.clone(), Stored { shape: e.shape.clone(), data: source[range.clone()].to_vec() });
            if optimizer && e.kind == Kind::Param {
                for (moment, values) in [("exp_avg", &m), ("exp_avg_sq", &v)] {
                    let data = values[range.clone()].to_vec();
                    self.tensors.insert(optim_name(&e.name, moment), Stored { shape: e.shape.clone(), data });
                }
            }
        }
        if optimizer {
            let clock = a.read_clock(gpu).await?;
            let text: Vec<String> = clock.iter().map(|c| c.to_string()).collect();
            self.metadata.insert(format!("{}.clock", model.name), text.join(","));
        }
        Ok(())
    }

    /// Writes this checkpoint's tensors into `model` (parameters and running stats always; Adam
    /// moments and clock when present). Every tensor the model has must be present with its shape.
    pub fn restore(&self, gpu: &Gpu, model: &Sequential) -> Result<()> {
        let a = &model.arena;
        for e in &a.entries {
            let t = self.tensors.get(&e.name).ok_or_else(|| {
                Error::Format(format!("checkpoint has no tensor '{}' (is it for another model?)", e.name))
            })?;
            if t.shape != e.shape {
                return Err(Error::Shape(format!(
                    "checkpoint tensor '{}' has shape {:?} but the model expects {:?} (is it for another model?)",
                    e.name, t.shape, e.shape
                )));
            }
            let bad = t.data.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                return Err(Error::Format(format!(
                    "checkpoint tensor '{}' holds {bad} NaN or infinite values of {}: it was saved from a run \
                     that had diverged, or is damaged; use an earlier checkpoint",
                    e.name,
                    t.data.len()
                )));
            }
            a.write(gpu, &e.name, &t.data)?;
            if e.kind == Kind::Param {
                for (moment, buf) in [("exp_avg", &a.m), ("exp_avg_sq", &a.v)] {
                    if let Some(s) = self.tensors.get(&optim_name(&e.name, moment)) {
                        if s.data.len() != e.slot.len as usize {
                            return Err(Error::Shape(format!("checkpoint '{}' {moment} has the wrong size", e.name)));
                        }
                        gpu.queue.write_buffer(buf, e.slot.offset as u64 * 4, bytemuck::cast_slice(&s.data));
                    }
                }
            }
        }
        if let Some(text) = self.metadata.get(&format!("{}.clock", model.name)) {
            let mut clock = [0u32; CLOCK_SLOTS];
            for (slot, part) in clock.iter_mut().zip(text.split(',')) {
                *slot = part.trim().parse().map_err(|_| Error::Format(format!("bad clock metadata '{text}'")))?;
            }
            a.write_clock(gpu, clock);
        }
        Ok(())
    }

    /// The generator alone, for sampling and generator-only files: the EMA's weights under the
    /// generator's own names when the run kept an average (`generator_ema.*`), else the
    /// generator's. Optimiser state is left out.
    pub fn generator_only(&self) -> Checkpoint {
        let ema = self.tensors.keys().any(|k| k.starts_with("generator_ema."));
        let prefix = if ema { "generator_ema." } else { "generator." };
        // Inserted one by one: collecting into a BTreeMap sorts first, and that sort alone was
        // 4 KB of the browser's wasm.
        let mut tensors = BTreeMap::new();
        for (k, v) in &self.tensors {
            if let Some(rest) = k.strip_prefix(prefix).filter(|_| !k.starts_with("optim.")) {
                tensors.insert(format!("generator.{rest}"), v.clone());
            }
        }
        let mut metadata = self.metadata.clone();
        metadata.insert("generator_weights".into(), if ema { "ema" } else { "trained" }.into());
        Checkpoint { tensors, metadata }
    }

    /// Serialises to safetensors; with `f16`, weights are half precision and optimiser state is
    /// left out.
    pub fn to_bytes(&self, f16: bool) -> Result<Vec<u8>> {
        let mut stored = Vec::new();
        for (name, t) in &self.tensors {
            if f16 && name.starts_with("optim.") {
                continue;
            }
            let (dtype, data) = if f16 {
                let halves: Vec<half::f16> = t.data.iter().map(|&v| half::f16::from_f32(v)).collect();
                ("F16", bytemuck::cast_slice(&halves).to_vec())
            } else {
                ("F32", bytemuck::cast_slice(&t.data).to_vec())
            };
            stored.push((name.as_str(), dtype, t.shape.as_slice(), data));
        }
        let mut meta = self.metadata.clone();
        if f16 {
            meta.retain(|k, _| !k.ends_with(".clock"));
        }
        let views: Vec<_> = stored.iter().map(|(n, d, s, b)| (*n, *d, *s, b.as_slice())).collect();
        Ok(safetensors::write(&views, &meta))
    }

    /// Parses safetensors bytes holding f32 or f16 tensors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Checkpoint> {
        let (entries, metadata) =
            safetensors::read(bytes).map_err(|e| Error::Format(format!("{what}: not a safetensors file: {e}")))?;
        let mut out = Checkpoint { metadata, ..Checkpoint::default() };
        for e in entries {
            let data: Vec<f32> = match e.dtype.as_str() {
                "F32" => bytemuck::pod_collect_to_vec(e.data),
                "F16" => {
                    let halves: Vec<half::f16> = bytemuck::pod_collect_to_vec(e.data);
                    halves.iter().map(|h| h.to_f32()).collect()
                }
                other => {
                    return Err(Error::Format(format!(
                        "{what}: tensor '{}' is {other}; only F32 and F16 are read",
                        e.name
                    )))
                }
            };
            out.tensors.insert(e.name, Stored { shape: e.shape, data });
        }
        Ok(out)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// crash mid-write never leaves a torn file where a good one was.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use crate::error::io_error;
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself lives in the directory: without this a power cut can still lose it.
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

/// Reads a checkpoint file.
#[cfg(not(target_arch = "wasm32"))]
pub fn load(path: &std::path::Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| crate::error::io_error(path, e))?;
    Checkpoint::from_bytes(&bytes, &path.display().to_string())
}
