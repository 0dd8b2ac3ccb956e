//! The fuzz corpus as regression tests, on stable and without a GPU: every file under
//! `tests/fuzz_corpus/<target>/` goes through the function its libFuzzer target calls
//! (`fuzz/src/lib.rs`), which panics on the bugs the fuzzers look for. Errors are fine. Like the
//! fuzzers' `-malloc_limit_mb`, each file may make no single allocation beyond a bound in
//! proportion to its size. `bash fuzz/run.sh` runs the fuzzers themselves (nightly).

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// The system allocator, noting the largest single allocation made on each thread.
struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed straight to `System`; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// The largest single allocation `f` makes on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(|l| l.get())
}

/// The most one input of `len` bytes may allocate at once: an IDX gzip's pixels (deflate
/// expands at most ~1032×) in a Vec whose capacity doubles, plus 1 MiB for fixed costs.
fn allocation_bound(len: usize) -> usize {
    2 * 1032 * len + (1 << 20)
}

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let result = std::panic::catch_unwind(|| largest_allocation(|| run(&bytes)));
        let largest = result.unwrap_or_else(|_| panic!("{} panics in the {target} target", file.display()));
        assert!(
            largest <= allocation_bound(bytes.len()),
            "{}: {} bytes of input made an allocation of {largest} bytes",
            file.display(),
            bytes.len()
        );
    }
    eprintln!("{target}: {} inputs", files.len());
}

#[test]
fn idx_corpus() {
    replay("idx", harness::idx);
}

#[test]
fn checkpoint_corpus() {
    replay("checkpoint", harness::checkpoint);
}

#[test]
fn config_corpus() {
    replay("config", harness::config);
}

/// A gzip bomb behind a small IDX header: 16 MB of zeros after one declared 28×28 image. The
/// reader used to gunzip all of it before looking at the header; now it keeps what the header
/// declares and checks the rest of the stream without keeping it.
#[test]
fn gzip_bomb_costs_what_the_header_declares() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]).unwrap();
    for _ in 0..256 {
        gz.write_all(&[0; 1 << 16]).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let mut idx = None;
    let largest = largest_allocation(|| idx = Some(nanogan::io::data::parse_idx(&bomb, "bomb")));
    assert_eq!(idx.unwrap().unwrap().data.len(), 784);
    assert!(largest < 1 << 20, "{} bytes of gzip made an allocation of {largest} bytes", bomb.len());
    // The dropped rest is still checked: a bad checksum in the trailer is an error.
    let mut bad = bomb.clone();
    let crc = bad.len() - 8;
    bad[crc] ^= 1;
    let e = nanogan::io::data::parse_idx(&bad, "bomb").unwrap_err().to_string();
    assert!(e.contains("corrupt or truncated gzip"), "{e}");
}

/// Writes the seed inputs of the three fuzz targets into `tests/fuzz_corpus/` (by hand only: a
/// no-op unless NANOGAN_WRITE_FUZZ_SEEDS is set;
/// `fuzz/run.sh` then grows the corpus from them):
///
///     cargo run --release --example train -- --steps 1 --f16 --out /tmp/mlp
///     cargo run --release --example train -- --steps 1 --model dcgan --batch 4 --out /tmp/dcgan
///     NANOGAN_SEED_CHECKPOINTS=/tmp/mlp/checkpoint.safetensors,/tmp/mlp/generator-f16.safetensors,/tmp/dcgan/checkpoint.safetensors \
///         NANOGAN_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_regressions write_seeds
///
/// Real checkpoints are megabytes, over the fuzzers' 64 KiB inputs, so each is written again by
/// `Checkpoint::to_bytes` with every tensor cut to its first few values (real names, dtypes and
/// metadata), and one is kept as its first 8 KiB (the real header, data cut short).
#[test]
fn write_seeds() {
    // Rewrites the committed seeds only when asked: NANOGAN_WRITE_FUZZ_SEEDS=1.
    if std::env::var_os("NANOGAN_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    use nanogan::io::data::{parse_idx, Idx};
    use nanogan::{Checkpoint, Config, Preset};
    use std::io::Write;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let put = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(root.join(target)).unwrap();
        std::fs::write(root.join(target).join(name), bytes).unwrap();
    };
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let idx = |idx: &Idx| {
        let mut out = vec![0, 0, 8, idx.dims.len() as u8];
        idx.dims.iter().for_each(|&d| out.extend_from_slice(&(d as u32).to_be_bytes()));
        out.extend_from_slice(&idx.data);
        out
    };
    let images = parse_idx(include_bytes!("../data/digits/train-images-idx3-ubyte.gz"), "digits").unwrap();
    let labels = parse_idx(include_bytes!("../data/digits/train-labels-idx1-ubyte.gz"), "labels").unwrap();
    let first = |n: usize| Idx { dims: vec![n, 28, 28], data: images.data[..n * 784].to_vec() };
    put("idx", "digits-3", &idx(&first(3)));
    put("idx", "digits-40.gz", &gzip(&idx(&first(40))));
    put("idx", "labels-100", &idx(&Idx { dims: vec![100], data: labels.data[..100].to_vec() }));
    put("idx", "labels-100.gz", &gzip(&idx(&Idx { dims: vec![100], data: labels.data[..100].to_vec() })));
    put("idx", "four-dims", &idx(&Idx { dims: vec![1, 2, 2, 2], data: (0..8).collect() }));

    for (name, c) in [
        ("mlp", Config::for_model(Preset::Mlp)),
        (
            "dcgan-bgan",
            Config { loss: nanogan::GanLoss::Bgan, d_steps: 2, seed: u64::MAX, ..Config::for_model(Preset::Dcgan) },
        ),
    ] {
        put("config", name, c.to_text().as_bytes());
    }
    put("config", "web", b"model=mlp loss=gan batch=32 lr_d=2e-4 lr_g=2e-4 d_steps=1 seed=3 log_every=50");

    let paths =
        std::env::var("NANOGAN_SEED_CHECKPOINTS").expect("NANOGAN_SEED_CHECKPOINTS=a.safetensors,b.safetensors");
    for (i, path) in paths.split(',').enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let mut c = Checkpoint::from_bytes(&bytes, path).unwrap();
        let f16 = bytes.windows(5).any(|w| w == b"\"F16\"");
        for t in c.tensors.values_mut() {
            t.data.truncate(3);
            t.shape = vec![t.data.len()];
        }
        put("checkpoint", &format!("real-{i}-cut"), &[&[0][..], &c.to_bytes(f16).unwrap()].concat());
        if i == 0 {
            put("checkpoint", "real-0-first-8k", &[&[0][..], &bytes[..8192]].concat());
        }
    }
}

/// Counts in a config (from a checkpoint's metadata or the web page) used to be parsed as f64
/// and cast, so `batch=nan` became 0, `z=2.5` 2 and `d_steps=1e300` usize::MAX, which the
/// trainer then overflowed on or tried to allocate for (d_steps = 2^40: an 8 TB Vec; z = 2^34:
/// 8 TB of initial weights; log_every = 2^24: 16 million recorded plans). Now they must be whole
/// numbers, and `validate` bounds them.
#[test]
fn config_counts_are_whole_numbers_within_bounds() {
    use nanogan::gan::config::{MAX_D_STEPS, MAX_LOG_EVERY, MAX_Z};
    use nanogan::Config;
    for text in ["z=nan", "batch=2.5", "d_steps=-1", "log_every=1e300", "z=inf", "batch=18446744073709551616"] {
        let e = Config::from_text(text).unwrap_err().to_string();
        assert!(e.contains(text) && e.contains("not a whole number"), "{text}: {e}");
    }
    for (text, limit) in [
        (format!("z={}", MAX_Z + 1), MAX_Z),
        (format!("d_steps={}", usize::MAX), MAX_D_STEPS),
        (format!("log_every={}", MAX_LOG_EVERY + 1), MAX_LOG_EVERY),
    ] {
        let e = Config::from_text(&text).unwrap_err().to_string();
        assert!(e.contains(&limit.to_string()), "{text}: {e}");
    }
    let edge = format!("z={MAX_Z} d_steps={MAX_D_STEPS} log_every={MAX_LOG_EVERY}");
    Config::from_text(&edge).unwrap();
}

/// Found by the checkpoint fuzzer: a checkpoint with no tensors and no metadata wrote a header
/// it could not read back (`{},"__metadata__":{}}`; safetensors 0.8 miscounts an empty
/// metadata map beside no tensors).
#[test]
fn an_empty_checkpoint_round_trips() {
    let c = nanogan::Checkpoint::default();
    for f16 in [false, true] {
        let again = nanogan::Checkpoint::from_bytes(&c.to_bytes(f16).unwrap(), "empty").unwrap();
        assert!(again.tensors.is_empty() && again.metadata.is_empty());
    }
}
