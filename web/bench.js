// The benchmark page: times training iterations and sampling through the wasm `Lab`, as the demo
// drives it, and prints lines in the layout of `bench --e2e`. web/test/bench.mjs runs it in
// headless Chromium and prints the lines; `window.bench` holds them for scripts.

import init, { Lab } from "./pkg/nanogan.js";

const IMAGES = "data/train-images-idx3-ubyte.gz";
// A timed run aims at this long; the median of RUNS runs is reported, fewer for slow cases.
const RUN_MS = 1000;
const RUNS = 5;
const FEW_RUNS = 3;
const SLOW_MS = 2000;

const params = new URLSearchParams(location.search);
const quick = params.has("quick");
const filter = params.get("filter") || "";
const bench = (window.bench = { lines: [], done: false, error: null });
const out = document.getElementById("out");

function print(line = "") {
  bench.lines.push(line);
  out.textContent = bench.lines.join("\n");
}

const pad = (s, n) => String(s).padStart(n);
const padEnd = (s, n) => String(s).padEnd(n);

function header(dispatches) {
  print(`${padEnd("case", 28)} ${pad("ms", 10)} ${pad("(min–max)", 21)} ${pad("img/s", 9)} ${pad("GFLOP/s", 8)} ${pad("GFLOP", 7)} ${pad(dispatches, 11)} ${pad("MiB", 7)} ${pad("R×runs", 7)} ${pad("first ms", 9)}`);
}

function row(name, t, batch, flops, dispatches, bytes, firstMs) {
  const num = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : "–");
  print(`${padEnd(name, 28)} ${pad(t.median.toFixed(1), 10)} ${pad(`(${t.min.toFixed(1)}–${t.max.toFixed(1)})`, 21)} ${pad((batch / (t.median / 1e3)).toFixed(1), 9)} ${pad(num(flops / (t.median * 1e6), 2), 8)} ${pad(num(flops / 1e9, 3), 7)} ${pad(dispatches, 11)} ${pad(num(bytes / 1048576, 1), 7)} ${pad(`${t.reps}×${t.runs}`, 7)} ${pad(firstMs.toFixed(0), 9)}  on ${bench.adapter}`);
}

/** Milliseconds per call of `once(reps)` divided by reps: a warm-up, a probe that sizes the runs, then the runs. */
async function time(once) {
  const wall = async (reps) => {
    const t0 = performance.now();
    await once(reps);
    return (performance.now() - t0) / reps;
  };
  const warm = await wall(1);
  const probe = warm > SLOW_MS ? warm : await wall(1);
  const reps = Math.min(10_000, Math.max(1, Math.round(RUN_MS / Math.max(probe, 1e-3))));
  const runs = probe > SLOW_MS || quick ? FEW_RUNS : RUNS;
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await wall(reps));
  times.sort((a, b) => a - b);
  return { median: times[runs >> 1], min: times[0], max: times[runs - 1], reps, runs };
}

async function main() {
  if (!("gpu" in navigator)) throw new Error("navigator.gpu is missing: this browser has WebGPU off");
  const images = fetch(IMAGES).then((r) => r.arrayBuffer());
  await init();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("no WebGPU adapter");
  const info = adapter.info || {};
  const ua = navigator.userAgentData?.brands?.map((b) => `${b.brand} ${b.version}`).join(", ") || navigator.userAgent;
  bench.adapter = `${[info.description, info.vendor, info.architecture].filter(Boolean).join(" ") || "unnamed adapter"} (WebGPU${info.isFallbackAdapter ? ", software fallback" : ""})`;
  print(`adapter: ${bench.adapter} in ${ua}`);
  const data = new Uint8Array(await images);
  const batches = quick ? [64] : [64, 256];
  print();
  print("training: one iteration = d_steps D steps + 1 G step in one submit, losses read back at the end of each run");
  print("  ms        per iteration, median of the runs (min–max);  first ms: creating the trainer and its");
  print("            pipelines plus the first iteration, as a visitor waits for it");
  print("  GFLOP     matrix products per iteration;  MiB: GPU buffers the trainer created");
  header("dispatch/it");
  const cases = [];
  for (const model of ["mlp", "dcgan"]) {
    for (const loss of ["lsgan", "bgan"]) for (const batch of batches) cases.push([`train ${model} ${loss} b${batch}`, `model=${model} loss=${loss} batch=${batch}`, batch]);
    cases.push([`train ${model} lsgan b${batches[0]} merged`, `model=${model} loss=lsgan batch=${batches[0]} schedule=merged`, batches[0]]);
  }
  for (const [name, config, batch] of cases) {
    if (!name.includes(filter)) continue;
    // A fresh Lab per case, so its buffer figure counts only this case's.
    const lab = await Lab.open();
    await lab.setDataset(data);
    const t0 = performance.now();
    lab.start(config);
    await lab.train(1);
    const first = performance.now() - t0;
    const [dispatches, flops, bytes] = lab.benchInfo();
    const t = await time((reps) => lab.train(reps));
    row(name, t, batch, flops, dispatches, bytes, first);
    lab.free();
  }
  print();
  print("sampling: generator forward in eval mode and the grid drawn as RGBA, as the page shows it;");
  print("  GFLOP and dispatches are not counted here (bench --e2e has them)");
  header("dispatches");
  for (const model of ["mlp", "dcgan"]) {
    for (const batch of quick ? [64] : [64, 1024]) {
      const name = `sample ${model} b${batch}`;
      if (!name.includes(filter)) continue;
      const lab = await Lab.open();
      await lab.setDataset(data);
      lab.start(`model=${model} batch=64`);
      const t0 = performance.now();
      await lab.grid(true, batch, 32, 1);
      const first = performance.now() - t0;
      const t = await time(async (reps) => {
        for (let i = 0; i < reps; i++) await lab.grid(true, batch, 32, 1);
      });
      row(name, t, batch, NaN, "–", NaN, first);
      lab.free();
    }
  }
}

main()
  .catch((e) => {
    bench.error = e.message || String(e);
    const el = document.getElementById("error");
    el.textContent = bench.error;
    el.hidden = false;
  })
  .finally(() => (bench.done = true));
