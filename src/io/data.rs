//! MNIST-format data: the IDX reader (raw or gzipped) and the image set the trainer keeps on the
//! GPU as bytes.

#[cfg(not(target_arch = "wasm32"))]
use crate::error::io_error;
use crate::error::{Error, Result};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::random::check_slot;
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::gpu::Gpu;
#[cfg(not(target_arch = "wasm32"))]
use std::io::Read;
#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

/// An IDX array of unsigned bytes (type code 0x08), the only element type MNIST uses.
#[derive(Clone, Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` are a gzip stream (by its magic number).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Parses IDX bytes, gunzipping first if they are gzip. `what` names the source in errors.
/// A gzip stream is decoded only as far as the header's declared size is kept, and the rest is
/// checked (length, checksum) and dropped, so memory never exceeds the data actually declared
/// and present: a gzip bomb behind a small header costs what the header says.
pub fn parse_idx(bytes: &[u8], what: &str) -> Result<Idx> {
    if !is_gzip(bytes) {
        // Straight from the slice, not through std::io::Read, which the browser's wasm then
        // does without (3 KB).
        let mut rest = bytes;
        return read_idx_with(
            |n| {
                let (head, tail) = rest.split_at(n.min(rest.len()));
                rest = tail;
                Ok(head.to_vec())
            },
            what,
        );
    }
    gunzip_idx(bytes, what)
}

#[cfg(not(target_arch = "wasm32"))]
fn gunzip_idx(bytes: &[u8], what: &str) -> Result<Idx> {
    let mut gz = flate2::read::GzDecoder::new(bytes);
    let idx = read_idx_with(|n| read_at_most(&mut gz, n, what), what)?;
    std::io::copy(&mut gz, &mut std::io::sink()).map_err(|e| gzip_error(what, e))?;
    Ok(idx)
}

/// The browser build has no inflate of its own: `Lab.setDataset` gunzips with the browser's.
#[cfg(target_arch = "wasm32")]
fn gunzip_idx(_: &[u8], what: &str) -> Result<Idx> {
    Err(Error::Format(format!(
        "{what}: gzip data reached the wasm's IDX reader, which reads raw IDX only (Lab.setDataset gunzips first)"
    )))
}

/// Reads an IDX header and then exactly the data it declares through `read_at_most(n)`: up to
/// `n` bytes, fewer where the source ends.
fn read_idx_with(mut read_at_most: impl FnMut(usize) -> Result<Vec<u8>>, what: &str) -> Result<Idx> {
    let head = read_at_most(4)?;
    if head.len() < 4 {
        return Err(Error::Format(format!("{what}: {} bytes is too short for an IDX header", head.len())));
    }
    let ndims = head[3] as usize;
    if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || ndims == 0 {
        let hint = if head.starts_with(&GZIP_MAGIC) {
            " (is it gzip inside gzip?)"
        } else if head[2] != 0x08 && head[0] == 0 && head[1] == 0 {
            " (only unsigned-byte IDX files, type 0x08, are supported)"
        } else {
            " (not an IDX file?)"
        };
        let magic = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        return Err(Error::Format(format!(
            "{what}: expected IDX magic 0x000008NN (unsigned bytes, NN dimensions), found 0x{magic:08x}{hint}"
        )));
    }
    let sizes = read_at_most(4 * ndims)?;
    if sizes.len() < 4 * ndims {
        let header = 4 + 4 * ndims;
        return Err(Error::Format(format!("{what}: truncated header: {ndims} dimensions need {header} bytes")));
    }
    let dims: Vec<usize> =
        sizes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Format(format!("{what}: dimensions {dims:?} overflow")))?;
    let data = read_at_most(expected)?;
    if data.len() < expected {
        return Err(Error::Format(format!(
            "{what}: truncated: dimensions {dims:?} need {expected} bytes of data, found {}",
            data.len()
        )));
    }
    Ok(Idx { dims, data })
}

/// Up to `n` bytes from `r`, fewer if it ends first. The buffer grows with the bytes really
/// there, never to `n` (a declared size) up front.
#[cfg(not(target_arch = "wasm32"))]
fn read_at_most(r: &mut impl Read, n: usize, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n as u64).read_to_end(&mut out).map_err(|e| gzip_error(what, e))?;
    Ok(out)
}

/// Only the gzip decoder's reads can fail (a byte slice's cannot).
#[cfg(not(target_arch = "wasm32"))]
fn gzip_error(what: &str, e: std::io::Error) -> Error {
    Error::Format(format!("{what}: corrupt or truncated gzip: {e}"))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn read_idx(path: &Path) -> Result<Idx> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    parse_idx(&bytes, &path.display().to_string())
}

/// A set of 8-bit grey images (N, H, W) with optional labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Option<Vec<u8>>,
    pub n: usize,
    pub h: usize,
    pub w: usize,
}

impl Dataset {
    pub fn from_idx(images: Idx, labels: Option<Idx>, what: &str) -> Result<Dataset> {
        let [n, h, w] = images.dims[..] else {
            return Err(Error::Format(format!(
                "{what}: images must be 3-dimensional (N, H, W), found dimensions {:?}",
                images.dims
            )));
        };
        if n == 0 || h == 0 || w == 0 {
            return Err(Error::Format(format!("{what}: empty image set {:?}", images.dims)));
        }
        let labels = match labels {
            None => None,
            Some(l) => {
                if l.dims.len() != 1 || l.dims[0] != n {
                    return Err(Error::Format(format!(
                        "{what}: {n} images but the labels file has dimensions {:?}",
                        l.dims
                    )));
                }
                Some(l.data)
            }
        };
        Ok(Dataset { images: images.data, labels, n, h, w })
    }

    /// The bundled 10,000 MNIST digits (data/digits, made by scripts/bundle_digits.py).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn bundled() -> Result<Dataset> {
        let images = parse_idx(include_bytes!("../../data/digits/train-images-idx3-ubyte.gz"), "bundled digits")?;
        let labels = parse_idx(include_bytes!("../../data/digits/train-labels-idx1-ubyte.gz"), "bundled labels")?;
        Dataset::from_idx(images, Some(labels), "bundled digits")
    }

    /// Loads the training set from a directory laid out like MNIST or Fashion-MNIST
    /// (`train-images-idx3-ubyte[.gz]`, optional `train-labels-idx1-ubyte[.gz]`), or from the path of
    /// an images file itself.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &Path) -> Result<Dataset> {
        if path.is_file() {
            let images = read_idx(path)?;
            return Dataset::from_idx(images, None, &path.display().to_string());
        }
        if !path.is_dir() {
            return Err(Error::Io(format!("{}: no such file or directory", path.display())));
        }
        let images_path = find(path, &["train-images-idx3-ubyte", "train-images.idx3-ubyte"]).ok_or_else(|| {
            Error::Io(format!(
                "{}: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz here (expected the standard MNIST / Fashion-MNIST file names)",
                path.display()
            ))
        })?;
        let labels_path = find(path, &["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"]);
        let labels = labels_path.as_deref().map(read_idx).transpose()?;
        Dataset::from_idx(read_idx(&images_path)?, labels, &images_path.display().to_string())
    }

    pub fn image_len(&self) -> usize {
        self.h * self.w
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn find(dir: &Path, stems: &[&str]) -> Option<PathBuf> {
    stems.iter().flat_map(|s| [dir.join(s), dir.join(format!("{s}.gz"))]).find(|p| p.is_file())
}

/// A dataset resident on the GPU as bytes, four to a u32.
pub struct GpuDataset {
    pub images: wgpu::Buffer,
    pub n: usize,
    pub h: usize,
    pub w: usize,
}

/// Mirrors `GatherParams` in wgsl/gather.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherParams {
    pub batch: u32,
    pub image_len: u32,
    pub count: u32,
    pub stream: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub clock_slot: u32,
    /// 0 for gather_batch; `Binarize as u32` for gather_batch_binary.
    pub binarize: u32,
}

/// How real images become binary ones for models of discrete data (`gather_batch_binary`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Binarize {
    /// Grey levels scaled to [−1, 1].
    #[default]
    Off = 0,
    /// ±1 by thresholding intensity at ½ (pixel ≥ 128): the same image every time it is drawn.
    Threshold = 1,
    /// +1 with probability pixel/255, drawn afresh each time the image is in a batch.
    Stochastic = 2,
}

impl Binarize {
    pub fn name(self) -> &'static str {
        match self {
            Binarize::Off => "off",
            Binarize::Threshold => "threshold",
            Binarize::Stochastic => "stochastic",
        }
    }

    pub fn parse(s: &str) -> Result<Binarize> {
        match s {
            "off" | "none" => Ok(Binarize::Off),
            "threshold" => Ok(Binarize::Threshold),
            "stochastic" => Ok(Binarize::Stochastic),
            _ => Err(Error::Param(format!("unknown binarization '{s}' (expected off, threshold or stochastic)"))),
        }
    }
}

impl GpuDataset {
    pub fn upload(gpu: &Gpu, ds: &Dataset) -> Result<GpuDataset> {
        let mut bytes = ds.images.clone();
        bytes.resize(bytes.len().div_ceil(4) * 4, 0);
        Ok(GpuDataset { images: gpu.storage_init("dataset", &bytes)?, n: ds.n, h: ds.h, w: ds.w })
    }

    /// Records drawing `batch` random image indices from (seed, stream, clock[slot]).
    #[allow(clippy::too_many_arguments)]
    pub fn record_indices(
        &self,
        s: &mut Step,
        idx: &wgpu::Buffer,
        batch: usize,
        seed: u64,
        stream: u32,
        clock: &wgpu::Buffer,
        slot: u32,
    ) -> Result<()> {
        let p = self.params(batch, seed, stream, slot);
        s.dispatch(Kernel::GatherIndices, &p, &[idx, clock], grid_1d(batch as u64, WG))
    }

    /// Records x = the images at `idx`, scaled to [−1, 1].   x: (B, 1, H, W)   idx: (B) u32
    pub fn record_batch(&self, s: &mut Step, x: &Tensor, idx: &wgpu::Buffer) -> Result<()> {
        let batch = x.shape.first().copied().unwrap_or(0);
        expect_shape("gathered batch", x, &[batch, 1, self.h, self.w])?;
        let p = self.params(batch, 0, 0, 0);
        s.dispatch(Kernel::GatherBatch, &p, &[&x.buf, &self.images, idx], grid_1d(x.len() as u64, WG))
    }

    /// Records x = the images at `idx` as ±1 pixels (see `Binarize`); stochastic draws come from
    /// (seed, stream, clock[slot]).   x: (B, 1, H, W)   idx: (B) u32
    #[allow(clippy::too_many_arguments)]
    pub fn record_binary_batch(
        &self,
        s: &mut Step,
        x: &Tensor,
        idx: &wgpu::Buffer,
        binarize: Binarize,
        seed: u64,
        stream: u32,
        clock: &wgpu::Buffer,
        slot: u32,
    ) -> Result<()> {
        let batch = x.shape.first().copied().unwrap_or(0);
        expect_shape("gathered batch", x, &[batch, 1, self.h, self.w])?;
        if binarize == Binarize::Off {
            return self.record_batch(s, x, idx);
        }
        check_slot(clock, slot)?;
        let p = GatherParams { binarize: binarize as u32, ..self.params(batch, seed, stream, slot) };
        s.dispatch(Kernel::GatherBatchBinary, &p, &[&x.buf, &self.images, idx, clock], grid_1d(x.len() as u64, WG))
    }

    fn params(&self, batch: usize, seed: u64, stream: u32, slot: u32) -> GatherParams {
        GatherParams {
            batch: batch as u32,
            image_len: (self.h * self.w) as u32,
            count: self.n as u32,
            stream,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            clock_slot: slot,
            binarize: 0,
        }
    }
}
