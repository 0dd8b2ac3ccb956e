//! One test per row of the README's bad-input table: each input a user can get wrong, and the
//! exact error nanogan answers with (the table quotes these messages).

mod common;

use common::{digits, gpu};
use nanogan::gan::config::{Config, GanLoss};
use nanogan::gan::presets::Preset;
use nanogan::gan::train::Trainer;
use nanogan::io::checkpoint::{self, Checkpoint};
use nanogan::io::data::{parse_idx, Dataset};
use nanogan::Gpu;
use std::io::Write;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "../examples/train/args.rs"]
mod train_args;

/// A fresh directory under the target dir for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad_inputs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A valid IDX file of `n` images of h × w.
fn idx(n: u32, h: u32, w: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.resize(b.len() + (n * h * w) as usize, 7);
    b
}

fn expect_err<T>(r: nanogan::Result<T>, parts: &[&str]) -> String {
    let e = match r {
        Ok(_) => panic!("expected an error containing {parts:?}"),
        Err(e) => e.to_string(),
    };
    for p in parts {
        assert!(e.contains(p), "error {e:?} lacks {p:?}");
    }
    println!("error: {e}");
    e
}

fn cli(args: &[&str]) -> String {
    match train_args::parse_args(args.iter().map(|s| s.to_string())) {
        Ok(_) => panic!("{args:?} was accepted"),
        Err(e) => {
            println!("error: {e}");
            e.to_string()
        }
    }
}

/// A checkpoint of two mlp iterations at batch 4.
fn mlp_checkpoint(gpu: &Gpu) -> Checkpoint {
    let config = Config { batch: 4, log_every: 2, ..Config::for_model(Preset::Mlp) };
    let mut t = Trainer::new(gpu, config, digits()).unwrap();
    pollster::block_on(t.train(gpu, 2, |_| {})).unwrap();
    pollster::block_on(t.checkpoint(gpu)).unwrap()
}

#[test]
fn missing_data_path() {
    expect_err(Dataset::load(&PathBuf::from("/no/such/mnist")), &["/no/such/mnist: no such file or directory"]);
}

#[test]
fn directory_without_mnist_files() {
    let dir = scratch("empty");
    expect_err(Dataset::load(&dir), &["no train-images-idx3-ubyte or train-images-idx3-ubyte.gz here"]);
}

#[test]
fn not_an_idx_file() {
    expect_err(parse_idx(b"<html>hello</html>", "page.html"), &["page.html: expected IDX magic", "(not an IDX file?)"]);
}

#[test]
fn idx_of_another_element_type() {
    let mut b = idx(1, 2, 2);
    b[2] = 0x0D; // float32 elements
    expect_err(parse_idx(&b, "floats.idx"), &["only unsigned-byte IDX files, type 0x08, are supported"]);
}

#[test]
fn truncated_idx_data() {
    let b = idx(10, 28, 28);
    expect_err(parse_idx(&b[..5000], "short.idx"), &["short.idx: truncated: dimensions [10, 28, 28] need 7840 bytes"]);
}

#[test]
fn truncated_gzip() {
    let g = gzip(&idx(10, 28, 28));
    expect_err(parse_idx(&g[..g.len() / 2], "cut.gz"), &["cut.gz: corrupt or truncated gzip"]);
}

#[test]
fn gzip_inside_gzip() {
    expect_err(parse_idx(&gzip(&gzip(&idx(1, 28, 28))), "twice.gz"), &["(is it gzip inside gzip?)"]);
}

#[test]
fn labels_instead_of_images() {
    let labels = vec![0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3];
    let dir = scratch("labels");
    std::fs::write(dir.join("labels.idx"), labels).unwrap();
    expect_err(
        Dataset::load(&dir.join("labels.idx")),
        &["images must be 3-dimensional (N, H, W), found dimensions [3]"],
    );
}

#[test]
fn images_not_28_by_28() {
    let Some(gpu) = gpu() else { return };
    let ds = Dataset::from_idx(parse_idx(&idx(8, 32, 32), "cifar-ish").unwrap(), None, "cifar-ish").unwrap();
    expect_err(
        Trainer::new(gpu, Config::default(), &ds),
        &["the mlp preset needs 28×28 images; the dataset's are 32×32"],
    );
}

#[test]
fn batch_larger_than_the_dataset_is_allowed() {
    // Batches are drawn with replacement, so 64 images from a set of 5 is a valid (if odd) run.
    let Some(gpu) = gpu() else { return };
    let ds = Dataset::from_idx(parse_idx(&idx(5, 28, 28), "five").unwrap(), None, "five").unwrap();
    let mut t = Trainer::new(gpu, Config { batch: 64, log_every: 1, ..Config::default() }, &ds).unwrap();
    pollster::block_on(t.train(gpu, 1, |_| {})).unwrap();
    assert!(t.log[0].d_loss.is_finite());
}

#[test]
fn batch_larger_than_the_device_allows() {
    let Some(gpu) = gpu() else { return };
    let e = expect_err(
        Trainer::new(gpu, Config { batch: 1_000_000, ..Config::default() }, digits()),
        &["batch 1000000 does not fit this device", "the largest batch for mlp lsgan here is"],
    );
    // The batch it names does fit (recording the plans allocates every buffer).
    let largest: usize = e.rsplit(' ').next().unwrap().parse().unwrap();
    Trainer::new(gpu, Config { batch: largest, ..Config::default() }, digits()).unwrap();
}

#[test]
fn learning_rate_not_positive() {
    let Some(gpu) = gpu() else { return };
    for lr in [0.0, -1e-3, f32::NAN] {
        let config = Config { lr_g: lr, ..Config::default() };
        expect_err(Trainer::new(gpu, config, digits()), &["Adam: learning rate must be finite and > 0"]);
    }
}

#[test]
fn option_of_another_loss() {
    let e = cli(&["--loss", "bgan", "--a", "-1"]);
    assert!(e.contains("--a applies only to --loss lsgan, and this run's loss is bgan"), "{e}");
    let e = cli(&["--momentum", "0.9"]);
    assert!(e.contains("--momentum applies only to --optimizer sgd, and this run's optimiser is adam"), "{e}");
    let e = cli(&["--bgan-samples", "4"]);
    assert!(e.contains("--bgan-samples applies only to --loss bgan-discrete, and this run's loss is lsgan"), "{e}");
}

#[test]
fn unknown_option_and_bad_numbers() {
    assert!(cli(&["--epochs", "3"]).contains("unknown option '--epochs'"));
    assert!(cli(&["--steps", "many"]).contains("--steps many: not a valid number"));
    assert!(cli(&["--loss", "wgan"]).contains("unknown loss 'wgan'"));
    assert!(cli(&["--binarize", "yes"]).contains("unknown binarization 'yes'"));
    assert!(cli(&["--batch"]).contains("--batch needs a value"));
    assert!(cli(&["--ema", "1"]).contains("EMA decay must lie strictly between 0 and 1"));
    assert!(cli(&["--ema", "slow"]).contains("--ema slow: not a valid number"));
    assert!(cli(&["--eval-samples", "1"]).contains("--eval-samples 1: from 2 to 50,000"));
}

/// The EMA is on unless switched off; the metrics are off unless asked for.
#[test]
fn ema_and_eval_defaults() {
    let parse = |args: &[&str]| train_args::parse_args(args.iter().map(|s| s.to_string())).unwrap().unwrap();
    assert_eq!(parse(&[]).config.ema, Some(train_args::DEFAULT_EMA));
    assert_eq!(parse(&["--ema", "off"]).config.ema, None);
    assert_eq!(parse(&["--ema", "0.99"]).config.ema, Some(0.99));
    assert_eq!(parse(&[]).eval_every, 0);
    assert_eq!(parse(&["--eval-every", "250"]).eval_every, 250);
}

#[test]
fn missing_checkpoint_file() {
    expect_err(
        checkpoint::load(&PathBuf::from("/no/such/checkpoint.safetensors")),
        &["/no/such/checkpoint.safetensors"],
    );
}

#[test]
fn file_that_is_not_a_checkpoint() {
    let dir = scratch("notckpt");
    let path = dir.join("notes.safetensors");
    std::fs::write(&path, "hello").unwrap();
    expect_err(checkpoint::load(&path), &["notes.safetensors: not a safetensors file"]);
}

#[test]
fn checkpoint_for_another_model() {
    let Some(gpu) = gpu() else { return };
    let mut c = mlp_checkpoint(gpu);
    let text = c.metadata["config"].replace("model=mlp", "model=dcgan");
    c.metadata.insert("config".into(), text);
    expect_err(
        Trainer::resume(gpu, &c, digits()),
        &["checkpoint tensor 'generator.0.weight' has shape [128, 100] but the model expects [6272, 100]"],
    );
}

#[test]
fn generator_only_checkpoint_given_to_resume() {
    let Some(gpu) = gpu() else { return };
    let mut c = mlp_checkpoint(gpu);
    c.tensors.retain(|name, _| name.starts_with("generator."));
    let c = Checkpoint::from_bytes(&c.to_bytes(true).unwrap(), "generator-f16.safetensors").unwrap();
    expect_err(Trainer::resume(gpu, &c, digits()), &["this checkpoint holds a generator only"]);
}

#[test]
fn checkpoint_with_nan_weights() {
    let Some(gpu) = gpu() else { return };
    let mut c = mlp_checkpoint(gpu);
    let t = c.tensors.get_mut("generator.0.weight").unwrap();
    t.data[5] = f32::NAN;
    t.data[9] = f32::INFINITY;
    expect_err(
        Trainer::resume(gpu, &c, digits()),
        &["checkpoint tensor 'generator.0.weight' holds 2 NaN or infinite values"],
    );
}

#[test]
fn checkpoint_without_a_config() {
    let Some(gpu) = gpu() else { return };
    let mut c = mlp_checkpoint(gpu);
    c.metadata.clear();
    expect_err(Trainer::resume(gpu, &c, digits()), &["checkpoint has no training config"]);
}

/// Runs this test binary again as a child with `env` set, executing only test `name`.
fn run_child(name: &str, env: (&str, &str)) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(env.0, env.1)
        .env("NANOGAN_BAD_INPUT_CHILD", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn unknown_adapter_name() {
    if std::env::var_os("NANOGAN_BAD_INPUT_CHILD").is_some() {
        match Gpu::new_blocking() {
            Ok(_) => println!("child: opened a device"),
            Err(e) => println!("child error: {e}"),
        }
        return;
    }
    if gpu().is_none() {
        return;
    }
    let out = run_child("unknown_adapter_name", ("NANOGAN_ADAPTER", "no-such-gpu"));
    assert!(
        out.contains("child error: no GPU adapter: NANOGAN_ADAPTER='no-such-gpu' matches none of the adapters found"),
        "{out}"
    );
}

#[test]
fn unknown_kernel_variant() {
    if std::env::var_os("NANOGAN_BAD_INPUT_CHILD").is_some() {
        if let Err(e) = Gpu::new_blocking() {
            println!("child error: {e}");
        }
        return;
    }
    let out = run_child("unknown_kernel_variant", ("NANOGAN_KERNELS", "fastest"));
    assert!(out.contains("NANOGAN_KERNELS='fastest' is not a kernel variant (known: registers, tall, tiles)"), "{out}");
}

/// A device lost mid-run (here destroyed on purpose; a driver reset looks the same to wgpu)
/// stops training with a clear error, and the checkpoint written before it stays intact.
#[test]
fn device_lost_mid_run() {
    if gpu().is_none() {
        return;
    }
    // Its own device: destroying the shared one would break the other tests.
    let gpu = Gpu::new_blocking().unwrap();
    let dir = scratch("device_lost");
    let path = dir.join("checkpoint.safetensors");
    let config = Config { batch: 8, log_every: 2, loss: GanLoss::Bgan, ..Config::default() };
    let mut t = Trainer::new(&gpu, config, digits()).unwrap();
    pollster::block_on(t.train(&gpu, 2, |_| {})).unwrap();
    let good = pollster::block_on(t.checkpoint(&gpu)).unwrap().to_bytes(false).unwrap();
    checkpoint::write_atomic(&path, &good).unwrap();

    gpu.device.destroy();
    let e = pollster::block_on(t.train(&gpu, 2, |_| {})).unwrap_err().to_string();
    assert!(e.contains("the GPU device was lost"), "{e}");
    println!("error: {e}");
    // Nothing can be read back to write a bad checkpoint with.
    assert!(pollster::block_on(t.checkpoint(&gpu)).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), good, "the last good checkpoint changed");
    let c = checkpoint::load(&path).unwrap();
    assert_eq!(c.metadata["step"], "2");
}
