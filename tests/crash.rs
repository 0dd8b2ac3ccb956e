//! Crash safety: training killed with SIGKILL at random moments, some of them in the middle of a
//! checkpoint write, leaves a checkpoint that loads, and resuming from it reproduces the
//! uninterrupted run's losses from that step on, bit for bit.
//!
//! The training process is this test binary run again (`crash_child`, a no-op unless started
//! here), driving the library the way `examples/train/main.rs` does: losses appended to
//! `losses.csv`, then a checkpoint written with `write_atomic` every `CHECKPOINT_EVERY` steps.
//! The child prints a line at each point a kill may aim at. Kill times come from a seeded
//! generator (`NANOGAN_CRASH_SEED` picks another sequence). Runs on the GPU (lavapipe in CI).
#![cfg(unix)]

use nanogan::gan::config::Config;
use nanogan::gan::presets::Preset;
use nanogan::gan::train::{LogEntry, Trainer};
use nanogan::io::checkpoint::{self, write_atomic};
use nanogan::io::csv_log::forget_after;
use nanogan::io::data::Dataset;
use nanogan::Gpu;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const STEPS: u64 = 12;
const CHECKPOINT_EVERY: u64 = 2;
/// Marks the child process; its value is the output directory.
const CHILD_ENV: &str = "NANOGAN_CRASH_CHILD";
const CHILD_TEST: &str = "crash_child";
const CHECKPOINT: &str = "checkpoint.safetensors";

fn config() -> Config {
    Config { batch: 8, seed: 5, log_every: 1, ..Config::for_model(Preset::Mlp) }
}

fn gpu() -> Option<Gpu> {
    match Gpu::new_blocking() {
        Ok(g) => Some(g),
        Err(e) if std::env::var("NANOGAN_ALLOW_NO_GPU").as_deref() == Ok("1") => {
            eprintln!("skipping GPU test (NANOGAN_ALLOW_NO_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set NANOGAN_ALLOW_NO_GPU=1 to skip GPU tests on purpose)"),
    }
}

/// Trains to `STEPS` in `out` (resuming from its checkpoint if `resume`) as examples/train/main.rs
/// does, telling `say` when it is ready, after each step, and around each checkpoint write.
fn train(gpu: &Gpu, data: &Dataset, out: &Path, resume: bool, mut say: impl FnMut(String)) -> Trainer {
    let path = out.join(CHECKPOINT);
    let csv = out.join("losses.csv");
    let mut t = if resume {
        Trainer::resume(gpu, &checkpoint::load(&path).unwrap(), data).unwrap()
    } else {
        Trainer::new(gpu, config(), data).unwrap()
    };
    if t.step == 0 {
        std::fs::write(&csv, "step,d_loss,g_loss\n").unwrap();
    } else {
        forget_after(&csv, t.step).unwrap();
    }
    say("ready".into());
    while t.step < STEPS {
        t.submit_iteration(gpu).unwrap();
        if t.log_due() || t.step == STEPS {
            append_losses(&csv, &pollster::block_on(t.read_losses(gpu)).unwrap());
        }
        say(format!("step {}", t.step));
        if t.step % CHECKPOINT_EVERY == 0 && t.step != STEPS {
            append_losses(&csv, &pollster::block_on(t.read_losses(gpu)).unwrap());
            let bytes = pollster::block_on(t.checkpoint(gpu)).unwrap().to_bytes(false).unwrap();
            say(format!("writing {}", t.step));
            write_atomic(&path, &bytes).unwrap();
            say(format!("wrote {}", t.step));
        }
    }
    t
}

fn append_losses(path: &Path, entries: &[LogEntry]) {
    let text: String = entries.iter().map(|e| format!("{},{},{}\n", e.step, e.d_loss, e.g_loss)).collect();
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

/// The training process (run by `kill_9_at_random_moments_then_resume_bit_for_bit`).
#[test]
fn crash_child() {
    // A no-op in a normal run: only the parent test starts it with CHILD_ENV set.
    let Ok(out) = std::env::var(CHILD_ENV) else { return };
    let gpu = Gpu::new_blocking().unwrap();
    let data = Dataset::bundled().unwrap();
    train(&gpu, &data, Path::new(&out), false, |line| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "crash-child: {line}");
        let _ = stdout.flush();
    });
}

/// splitmix64: the kill times' seeded generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A training child and the lines it prints.
struct Trial {
    child: Child,
    lines: Receiver<String>,
    last: String,
    out: PathBuf,
}

impl Trial {
    fn start(out: &Path) -> Trial {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, out)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(out.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                // libtest's "test crash_child ... " may share the first line.
                if let Some((_, line)) = line.split_once("crash-child: ") {
                    if send.send(line.to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        Trial { child, lines, last: String::new(), out: out.to_path_buf() }
    }

    /// Waits for the child to print `line`; false if it exited first.
    fn wait_for(&mut self, line: &str) -> bool {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(l) => {
                    self.last = l;
                    if self.last == line {
                        return true;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return false,
                Err(e) => panic!("child silent for 120 s waiting for '{line}': {e}\n{}", self.stderr()),
            }
        }
    }

    /// What the child wrote to stderr.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.out.join("stderr.txt")).unwrap_or_default()
    }

    /// SIGKILL; returns the last line the child printed and whether it was still running.
    fn kill(mut self) -> (String, bool) {
        let running = self.child.try_wait().unwrap().is_none();
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
        let last = self.lines.try_iter().last().unwrap_or(std::mem::take(&mut self.last));
        (last, running)
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.contains(".tmp-")).collect()
}

/// Every (step, D loss, G loss) row of a losses.csv.
fn csv_rows(path: &Path) -> Vec<(u64, u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|row| {
            let f: Vec<&str> = row.split(',').collect();
            let bits = |s: &str| s.parse::<f32>().unwrap_or_else(|_| panic!("torn row '{row}'")).to_bits();
            assert_eq!(f.len(), 3, "torn row '{row}'");
            (f[0].parse().unwrap(), bits(f[1]), bits(f[2]))
        })
        .collect()
}

#[test]
fn kill_9_at_random_moments_then_resume_bit_for_bit() {
    let Some(gpu) = gpu() else { return };
    let data = Dataset::bundled().unwrap();
    let seed = std::env::var("NANOGAN_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let mut rng = Rng(seed);
    let root = std::env::temp_dir().join(format!("nanogan-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);

    let reference_dir = root.join("reference");
    std::fs::create_dir_all(&reference_dir).unwrap();
    let reference = train(&gpu, &data, &reference_dir, false, |_| {});
    assert_eq!(reference.log.len() as u64, STEPS);
    let bits = |e: &LogEntry| (e.step, e.d_loss.to_bits(), e.g_loss.to_bits());
    let expected: Vec<(u64, u32, u32)> = reference.log.iter().map(bits).collect();
    let final_state = pollster::block_on(reference.checkpoint(&gpu)).unwrap();
    drop(reference);

    // Odd trials aim at a checkpoint write: the kill follows the child's "writing" line by
    // 0 to 3 ms. Even ones kill at a random moment after the first checkpoint. Trials go on
    // until 6 kills hit a running child and one of them left a temporary file (proof it
    // interrupted a write).
    let (mut killed, mut mid_write, mut trial) = (0, 0, 0);
    while killed < 6 || mid_write == 0 {
        assert!(trial < 16, "{killed} kills in {trial} trials, {mid_write} of them during a checkpoint write");
        let out = root.join(format!("trial-{trial}"));
        std::fs::create_dir_all(&out).unwrap();
        let mut child = Trial::start(&out);
        assert!(child.wait_for("ready"), "the training child did not start:\n{}", child.stderr());
        let ready = Instant::now();
        let aim = if trial % 2 == 1 {
            // Not the first write: before it there is no checkpoint to resume from.
            let at = CHECKPOINT_EVERY * (2 + rng.below(STEPS / CHECKPOINT_EVERY - 2));
            let delay = Duration::from_micros(rng.below(3000));
            if child.wait_for(&format!("writing {at}")) {
                std::thread::sleep(delay);
            }
            format!("{delay:?} after 'writing {at}'")
        } else {
            // A random step (after the first checkpoint), then up to one and a half steps' time
            // more: any moment of an iteration or of a checkpoint's capture, encoding or write.
            let at = CHECKPOINT_EVERY + 1 + rng.below(STEPS - CHECKPOINT_EVERY - 1);
            let fraction = rng.below(1500) as f64 / 1000.0;
            let mut delay = Duration::ZERO;
            if child.wait_for(&format!("step {at}")) {
                delay = ready.elapsed().div_f64(at as f64).mul_f64(fraction);
                std::thread::sleep(delay);
            }
            format!("{delay:?} after 'step {at}'")
        };
        let (last, running) = child.kill();
        let strays = temp_files(&out);
        if running {
            killed += 1;
        }
        if !strays.is_empty() {
            mid_write += 1;
        }

        // The checkpoint on disk loads, whatever the kill interrupted.
        let on_disk = checkpoint::load(&out.join(CHECKPOINT)).unwrap();
        let step: u64 = on_disk.metadata["step"].parse().unwrap();
        eprintln!(
            "trial {trial}: killed {aim} (last line '{last}'{}); checkpoint at step {step} loads; stray temp files {strays:?}",
            if running { "" } else { ", but it had already exited" },
        );

        // Resuming in the same directory (stray temp files and all) reproduces the reference.
        let resumed = train(&gpu, &data, &out, true, |_| {});
        let got: Vec<(u64, u32, u32)> = resumed.log.iter().map(bits).collect();
        assert_eq!(got, expected[step as usize..], "trial {trial}: losses after resuming from step {step}");
        let state = pollster::block_on(resumed.checkpoint(&gpu)).unwrap();
        for (name, t) in &final_state.tensors {
            let same = t.data.iter().zip(&state.tensors[name].data).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "trial {trial}: {name} differs at the end");
        }
        // Every loss the killed run logged up to its checkpoint, then every one logged after
        // resuming, is the reference's: each step once, in order.
        let rows = csv_rows(&out.join("losses.csv"));
        let steps: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(steps, (1..=STEPS).collect::<Vec<_>>(), "trial {trial}: losses.csv steps");
        for row in rows {
            assert_eq!(row, expected[row.0 as usize - 1], "trial {trial}: losses.csv row");
        }
        trial += 1;
    }
    eprintln!("{killed} kills in {trial} trials, {mid_write} during a checkpoint write; every resume bit for bit");
    let _ = std::fs::remove_dir_all(&root);
}
