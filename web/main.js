// The nanogan page: samples a pretrained generator at once, trains a GAN live on WebGPU in
// chunks that leave the page responsive, and plots the losses. All GPU work goes through the
// wasm `Lab` (src/web.rs), one call at a time (`gpu()` below queues them).

import init, { Lab } from "./pkg/nanogan.js";

const $ = (id) => document.getElementById(id);
const PRETRAINED = "pretrained/generator-f16.safetensors";
const IMAGES = "data/train-images-idx3-ubyte.gz";
// The metrics' digit classifier (assets/classifier-f16.safetensors, copied by web/build.sh).
const CLASSIFIER = "data/classifier-f16.safetensors";
// Sample quality is measured every EVAL_EVERY steps and when training pauses, on EVAL_N
// samples: enough for a stable FID to watch, few enough to cost about a chunk of training.
const EVAL_EVERY = 250;
const EVAL_N = 500;
const GRID = { n: 64, cols: 8, scale: 2 };
const WALK_FRAMES = 12;
// Losses are read back once per chunk; a chunk aims at this many ms of GPU work.
const CHUNK_MS = 120;
const MAX_CHUNK = 50;

// State the browser test reads (window.nanogan).
const state = {
  ready: false, error: null, adapter: "", firstSamplesMs: null,
  losses: [], // [{ step, d, g }]
  metrics: [], // [{ step, fid, is, modes, histogram }]
  classifier: false, evalMs: 0,
  running: false, trainSteps: 0, trainMs: 0, chartPoints: 0, sampleDraws: 0,
};
window.nanogan = state;

let lab = null;
let queue = Promise.resolve();
/** Runs `fn` after every GPU call queued before it: the Lab serves one call at a time. */
function gpu(fn) {
  const p = queue.then(fn);
  queue = p.catch(() => {});
  return p;
}
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));

function showError(e) {
  const msg = e instanceof Error ? e.message : String(e);
  state.error = msg;
  const el = $("error");
  el.textContent = msg;
  el.hidden = false;
  console.error(e);
}

function noWebGpu(reason) {
  $("no-webgpu-reason").textContent = reason;
  $("no-webgpu").hidden = false;
  $("app").hidden = true;
  $("status").textContent = "WebGPU is not available in this browser.";
  state.error = "no-webgpu: " + reason;
}

function put(canvas, grid) {
  const ctx = canvas.getContext("2d");
  if (canvas.width !== grid.width || canvas.height !== grid.height) {
    canvas.width = grid.width;
    canvas.height = grid.height;
  }
  ctx.putImageData(new ImageData(grid.rgba, grid.width, grid.height), 0, 0);
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`fetching ${url}: HTTP ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

// ---------------------------------------------------------------- pretrained generator
let sampleSeed = 0;
let walk = { on: true, from: 1000, to: 1001, frames: null, k: 0, next: null };

async function drawPretrained() {
  const g = await gpu(() => lab.grid(false, GRID.n, GRID.cols, GRID.scale, sampleSeed));
  put($("pretrained-grid"), g);
}

function walkStrip(from, to) {
  return gpu(() => lab.walk(false, from, to, WALK_FRAMES, 1));
}

async function walkTick() {
  if (!walk.on || !lab.hasGenerator()) return;
  if (!walk.frames) {
    walk.frames = await walkStrip(walk.from, walk.to);
    walk.next = walkStrip(walk.to, walk.to + 1);
    drawStrip();
  }
  const big = $("walk-big").getContext("2d");
  big.imageSmoothingEnabled = false;
  big.drawImage(stripCanvas, 2 + walk.k * 30, 2, 28, 28, 0, 0, 224, 224);
  const strip = $("walk-strip").getContext("2d");
  drawStrip();
  strip.strokeStyle = "#ffd43b";
  strip.lineWidth = 2;
  strip.strokeRect((1 + walk.k * 30) * 2, 2, 60, 60);
  walk.k += 1;
  if (walk.k === WALK_FRAMES) {
    walk.k = 0;
    walk.from = walk.to;
    walk.to += 1;
    walk.frames = await walk.next;
    walk.next = walkStrip(walk.to, walk.to + 1);
  }
}

const stripCanvas = document.createElement("canvas");
function drawStrip() {
  put(stripCanvas, walk.frames);
  const ctx = $("walk-strip").getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(stripCanvas, 0, 0, stripCanvas.width * 2, stripCanvas.height * 2);
}

async function walkLoop() {
  for (;;) {
    const t0 = performance.now();
    try {
      await walkTick();
    } catch (e) {
      walk.on = false;
      showError(e);
    }
    const wait = Math.max(0, 110 - (performance.now() - t0));
    await new Promise((r) => setTimeout(r, wait));
  }
}

// ---------------------------------------------------------------- training
const form = $("settings");
let stopAt = 0;
let trainerConfig = null; // the settings the current trainer was made with

function settingsText() {
  const f = new FormData(form);
  const v = (k) => String(f.get(k)).trim();
  const loss = v("loss");
  let text = `model=${v("model")} loss=${loss} batch=${v("batch")} lr_d=${v("lr_d")} lr_g=${v("lr_g")}`;
  text += ` d_steps=${v("d_steps")} seed=${v("seed")} log_every=${MAX_CHUNK} schedule=${v("schedule") || "alternating"}`;
  if (loss === "lsgan") text += ` a=${v("a")} b=${v("b")} c=${v("c")}`;
  if (loss === "bgan-discrete") {
    text += ` bgan_samples=${v("bgan_samples")} binarize=${v("binarize")} estimator=${v("estimator")}`;
  }
  return text;
}

function showLossCodes() {
  form.querySelector(".lsgan").hidden = form.elements.loss.value !== "lsgan";
  form.querySelector(".discrete").hidden = form.elements.loss.value !== "bgan-discrete";
}

function applyConfig(text) {
  // Reflect a loaded checkpoint's config in the controls.
  const kv = Object.fromEntries(text.split(/\s+/).map((p) => p.split("=")));
  kv.schedule ??= "alternating"; // configs name only the merged schedule
  if (kv.loss === "bgan-discrete") kv.estimator ??= "importance"; // and only REINFORCE
  for (const k of ["model", "loss", "a", "b", "c", "batch", "lr_d", "lr_g", "d_steps", "seed", "bgan_samples", "binarize", "estimator", "schedule"]) {
    const el = form.elements[k];
    // A select keeps its choice when the config names none of its options (binarize=off).
    const offered = el && (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === kv[k]));
    if (kv[k] !== undefined && offered) el.value = kv[k];
  }
  showLossCodes();
  trainerConfig = settingsText();
}

function newTrainer() {
  const t0 = performance.now();
  lab.start(settingsText());
  state.startMs = performance.now() - t0;
  trainerConfig = settingsText();
  state.losses = [];
  state.metrics = [];
  state.trainSteps = 0;
  state.trainMs = 0;
  $("settings-note").textContent = "";
  updateStats();
  drawChart();
}

/** Scores the trainer's samples (FID, IS, modes) and plots them; a failure is noted, not fatal. */
async function evaluateNow() {
  if (!state.classifier || !lab.hasTrainer()) return;
  const last = state.metrics[state.metrics.length - 1];
  if (last && last.step === lab.step()) return;
  const t0 = performance.now();
  try {
    const r = await gpu(() => lab.evaluate(EVAL_N));
    state.evalMs = performance.now() - t0;
    state.metrics.push({ step: lab.step(), fid: r[0], is: r[1], modes: r[2], histogram: Array.from(r.slice(3)) });
  } catch (e) {
    $("settings-note").textContent = `Metrics unavailable: ${e.message || e}`;
    state.classifier = false;
  }
  updateStats();
  drawFid();
}

async function drawTrained() {
  const g = await gpu(() => lab.grid(true, GRID.n, GRID.cols, GRID.scale));
  put($("train-grid"), g);
  state.sampleDraws += 1;
}

function setRunning(on) {
  state.running = on;
  $("start").disabled = on;
  $("pause").disabled = !on;
  $("download").disabled = on || !lab.hasTrainer();
  $("download-g").disabled = on || !lab.hasTrainer();
}

async function trainLoop() {
  let chunk = 1;
  let lastDraw = performance.now();
  const recent = []; // [ms, steps] of the last chunks, for steps/s
  while (state.running) {
    let n = chunk;
    if (stopAt > 0) n = Math.min(n, stopAt - lab.step());
    if (n <= 0) break;
    const t0 = performance.now();
    const flat = await gpu(() => lab.train(n));
    const ms = performance.now() - t0;
    for (let i = 0; i < flat.length; i += 3) state.losses.push({ step: flat[i], d: flat[i + 1], g: flat[i + 2] });
    state.trainSteps += n;
    state.trainMs += ms;
    recent.push([ms, n]);
    if (recent.length > 20) recent.shift();
    const [rms, rn] = recent.reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);
    state.stepsPerSecond = (1000 * rn) / rms;
    // Grow or shrink the chunk toward CHUNK_MS of work per call.
    chunk = Math.max(1, Math.min(MAX_CHUNK, Math.round((n * CHUNK_MS) / Math.max(ms, 1))));
    updateStats();
    drawChart();
    if (performance.now() - lastDraw > 400) {
      await drawTrained();
      lastDraw = performance.now();
    }
    const measured = state.metrics.length ? state.metrics[state.metrics.length - 1].step : 0;
    if (lab.step() - measured >= EVAL_EVERY) await evaluateNow();
    await frame(); // let the page paint and handle input between chunks
  }
  await drawTrained();
  await evaluateNow();
  setRunning(false);
}

async function start() {
  $("error").hidden = true;
  stopAt = Number(form.elements.stop_at.value) || 0;
  try {
    if (!lab.hasTrainer()) newTrainer();
    if (stopAt > 0 && lab.step() >= stopAt) {
      $("settings-note").textContent = `Already at step ${lab.step()}; raise "Stop at step" or set it to 0.`;
      return;
    }
    setRunning(true);
    await trainLoop();
  } catch (e) {
    setRunning(false);
    showError(e);
  }
}

async function reset() {
  state.running = false;
  for (const id of ["start", "reset", "pause"]) $(id).disabled = true;
  await gpu(() => {}); // let the running chunk finish
  try {
    newTrainer();
    await drawTrained();
  } catch (e) {
    showError(e);
  }
  $("reset").disabled = false;
  setRunning(false);
}

function updateStats() {
  const last = state.losses[state.losses.length - 1];
  $("stat-step").textContent = String(lab.step());
  $("stat-speed").textContent = state.stepsPerSecond ? state.stepsPerSecond.toFixed(1) : "–";
  $("stat-d").textContent = last ? last.d.toFixed(4) : "–";
  $("stat-g").textContent = last ? last.g.toFixed(4) : "–";
  const m = state.metrics[state.metrics.length - 1];
  $("stat-fid").textContent = m ? m.fid.toFixed(1) : "–";
  $("stat-modes").textContent = m ? `${m.modes}/10` : "–";
  $("stat-modes").title = m ? `samples per digit 0–9: ${m.histogram.join(" ")}` : "";
}

// ---------------------------------------------------------------- FID chart
function drawFid() {
  const canvas = $("fid-chart");
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const L = { left: 48, right: 12, top: 10, bottom: 22 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#777";
  const pts = state.metrics.filter((m) => Number.isFinite(m.fid));
  if (pts.length === 0) {
    ctx.fillText(state.classifier ? `FID appears here every ${EVAL_EVERY} steps and when training pauses.`
      : "No classifier loaded: no metrics.", L.left + 10, H / 2);
    return;
  }
  const hi = Math.max(...pts.map((p) => p.fid)) * 1.05 || 1;
  const x0 = 0, x1 = Math.max(pts[pts.length - 1].step, 1);
  const X = (s) => L.left + ((s - x0) / (x1 - x0)) * (W - L.left - L.right);
  const Y = (v) => H - L.bottom - (v / hi) * (H - L.top - L.bottom);
  ctx.strokeStyle = "#e4e4e0";
  for (const v of [0, hi / 2, hi]) {
    ctx.beginPath();
    ctx.moveTo(L.left, Y(v));
    ctx.lineTo(W - L.right, Y(v));
    ctx.stroke();
    ctx.fillText(v.toFixed(0), 6, Y(v) + 4);
  }
  ctx.fillText("step 0", L.left, H - 6);
  const end = `step ${x1}`;
  ctx.fillText(end, W - L.right - ctx.measureText(end).width, H - 6);
  ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue("--fid") || "#2a7";
  ctx.fillStyle = ctx.strokeStyle;
  ctx.lineWidth = 2;
  ctx.beginPath();
  pts.forEach((p, i) => ctx[i ? "lineTo" : "moveTo"](X(p.step), Y(p.fid)));
  ctx.stroke();
  ctx.lineWidth = 1;
  for (const p of pts) {
    ctx.beginPath();
    ctx.arc(X(p.step), Y(p.fid), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// ---------------------------------------------------------------- loss chart
function drawChart() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const L = { left: 48, right: 12, top: 12, bottom: 28 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif";
  const pts = state.losses;
  if (pts.length === 0) {
    ctx.fillStyle = "#999";
    ctx.fillText("Losses appear here once training starts.", L.left + 10, H / 2);
    state.chartPoints = 0;
    return;
  }
  // Robust y ranges: ignore the wildest 1% so one spike does not flatten the curves. When one
  // loss lives on a far larger scale than the other (the discrete BGAN's G loss is a
  // log-likelihood summed over 784 pixels), each gets its own axis: D left, G right.
  const range = (keys) => {
    const values = pts.flatMap((p) => keys.map((k) => p[k])).filter(Number.isFinite).sort((a, b) => a - b);
    const q = (f) => values[Math.min(values.length - 1, Math.floor(f * (values.length - 1)))];
    let lo = Math.min(0, q(0.005)), hi = q(0.995);
    if (!(hi - lo >= 1e-6)) hi = lo + 1;
    return [lo, hi + 0.05 * (hi - lo)];
  };
  const [dr, gr] = [range(["d"]), range(["g"])];
  const split = Math.max(dr[1] - dr[0], gr[1] - gr[0]) > 10 * Math.min(dr[1] - dr[0], gr[1] - gr[0]);
  const ranges = split ? { d: dr, g: gr } : { d: range(["d", "g"]), g: range(["d", "g"]) };
  const x0 = pts[0].step, x1 = Math.max(pts[pts.length - 1].step, x0 + 1);
  const X = (s) => L.left + ((s - x0) / (x1 - x0)) * (W - L.left - L.right);
  const Y = (key, v) => {
    const [lo, hi] = ranges[key];
    return H - L.bottom - ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (H - L.top - L.bottom);
  };
  // Axes and grid.
  ctx.strokeStyle = "#e4e4e0";
  ctx.fillStyle = "#777";
  ctx.lineWidth = 1;
  const label = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  for (let i = 0; i <= 4; i++) {
    const v = ranges.d[0] + ((ranges.d[1] - ranges.d[0]) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(L.left, Y("d", v));
    ctx.lineTo(W - L.right, Y("d", v));
    ctx.stroke();
    ctx.fillText(label(v), 6, Y("d", v) + 4);
    if (split) {
      const g = label(ranges.g[0] + ((ranges.g[1] - ranges.g[0]) * i) / 4);
      ctx.fillText(g, W - L.right - ctx.measureText(g).width, Y("d", v) - 3);
    }
  }
  if (split) ctx.fillText("G axis →", W - L.right - 90, L.top + 16);
  ctx.fillText(`step ${x0}`, L.left, H - 8);
  const end = `step ${pts[pts.length - 1].step}`;
  ctx.fillText(end, W - L.right - ctx.measureText(end).width, H - 8);
  // Raw curves (at most ~one point per pixel), then moving averages.
  const stride = Math.max(1, Math.floor(pts.length / (W - L.left - L.right)));
  const css = getComputedStyle(document.documentElement);
  for (const [key, color] of [["d", css.getPropertyValue("--d")], ["g", css.getPropertyValue("--g")]]) {
    ctx.strokeStyle = color;
    ctx.globalAlpha = 0.25;
    ctx.beginPath();
    for (let i = 0; i < pts.length; i += stride) ctx[i ? "lineTo" : "moveTo"](X(pts[i].step), Y(key, pts[i][key]));
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let ema = pts[0][key];
    const alpha = Math.min(1, 10 / pts.length + 0.02);
    for (let i = 0; i < pts.length; i++) {
      ema += alpha * (pts[i][key] - ema);
      if (i % stride === 0 || i === pts.length - 1) ctx[i ? "lineTo" : "moveTo"](X(pts[i].step), Y(key, ema));
    }
    ctx.stroke();
    ctx.lineWidth = 1;
  }
  state.chartPoints = pts.length;
}

// ---------------------------------------------------------------- checkpoints
function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function downloadCheckpoint(f16) {
  try {
    const bytes = await gpu(() => lab.checkpoint(f16));
    const kv = Object.fromEntries(lab.config().split(/\s+/).map((p) => p.split("=")));
    const stem = `nanogan-${kv.model}-${kv.loss}-step${lab.step()}`;
    download(bytes, f16 ? `${stem}-generator-f16.safetensors` : `${stem}.safetensors`);
  } catch (e) {
    showError(e);
  }
}

async function loadFile(file) {
  $("error").hidden = true;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    state.running = false;
    const kind = await gpu(() => lab.load(bytes, file.name));
    if (kind === "trainer") {
      applyConfig(lab.config());
      state.losses = [];
      drawChart();
      updateStats();
      await drawTrained();
      setRunning(false);
      $("settings-note").textContent = `Resumed ${file.name} at step ${lab.step()}: press Start to go on.`;
    } else {
      $("pretrained-info").textContent = `Generator from ${file.name}: ${lab.pretrainedConfig()}`;
      $("pretrained-metrics").textContent = lab.pretrainedMetrics();
      walk.frames = null;
      walk.k = 0;
      await drawPretrained();
    }
  } catch (e) {
    showError(e);
  }
}

function wireDrop() {
  let depth = 0;
  const show = (on) => ($("drop").hidden = !on);
  addEventListener("dragenter", (e) => { e.preventDefault(); depth++; show(true); });
  addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; show(false); } });
  addEventListener("dragover", (e) => e.preventDefault());
  addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    show(false);
    const file = e.dataTransfer.files[0];
    if (file) loadFile(file);
  });
  $("file").addEventListener("change", (e) => e.target.files[0] && loadFile(e.target.files[0]));
}

// ---------------------------------------------------------------- start-up
async function main() {
  if (!("gpu" in navigator)) {
    noWebGpu("navigator.gpu is missing: this browser has WebGPU switched off or does not support it.");
    return;
  }
  // The first fetches go out while the wasm compiles.
  const pretrained = fetchBytes(PRETRAINED);
  const images = fetchBytes(IMAGES);
  const classifier = fetchBytes(CLASSIFIER);
  const wasm = init();
  // Asked here too for a readable adapter name (wgpu's is empty in browsers) and a plain
  // message when there is none.
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
  if (!adapter) {
    noWebGpu("navigator.gpu.requestAdapter() found no adapter: WebGPU is switched off or blocked for this GPU.");
    return;
  }
  const info = adapter.info || {};
  const name = [info.description, info.vendor, info.architecture].filter(Boolean).join(" ") || "unnamed adapter";
  await wasm;
  try {
    lab = await Lab.open();
  } catch (e) {
    noWebGpu(e.message || String(e));
    return;
  }
  state.adapter = `${name} (WebGPU${info.isFallbackAdapter ? ", software fallback" : ""})`;
  $("adapter").textContent = `Adapter: ${state.adapter}.`;
  $("app").hidden = false;
  $("status").textContent = `Running on ${state.adapter}.`;

  try {
    await gpu(async () => lab.load(await pretrained, PRETRAINED));
    $("pretrained-info").textContent += ` (${lab.pretrainedConfig().split(" ").slice(0, 2).join(", ")})`;
    $("pretrained-metrics").textContent = lab.pretrainedMetrics();
    await drawPretrained();
    state.firstSamplesMs = Math.round(performance.now());
    $("first-samples").textContent = `first samples ${state.firstSamplesMs} ms after page load`;
  } catch (e) {
    showError(e);
  }
  walkLoop();

  try {
    const n = await lab.setDataset(await images);
    $("status").textContent = `Running on ${state.adapter}; ${n} training images loaded.`;
    try {
      lab.setClassifier(await classifier);
      state.classifier = true;
    } catch (e) {
      $("settings-note").textContent = `Metrics unavailable: ${e.message || e}`;
    }
    drawFid();
    newTrainer();
    await drawTrained();
  } catch (e) {
    showError(e);
  }

  form.addEventListener("input", (e) => {
    if (e.target.name === "loss") {
      showLossCodes();
      // The discrete BGAN learns at a higher rate (README); only the untouched defaults move.
      const lrs = [form.elements.lr_d, form.elements.lr_g];
      const discrete = e.target.value === "bgan-discrete";
      if (lrs.every((el) => Number(el.value) === (discrete ? 2e-4 : 1e-3))) {
        for (const el of lrs) el.value = discrete ? "0.001" : "0.0002";
      }
    }
    if (e.target.name === "stop_at") stopAt = Number(e.target.value) || 0;
    else if (lab.hasTrainer() && settingsText() !== trainerConfig) {
      $("settings-note").textContent = "Settings changed: press Reset to train with them.";
    }
  });
  $("start").onclick = start;
  $("pause").onclick = () => (state.running = false);
  $("reset").onclick = reset;
  $("download").onclick = () => downloadCheckpoint(false);
  $("download-g").onclick = () => downloadCheckpoint(true);
  $("reseed").onclick = () => { sampleSeed += 1; drawPretrained().catch(showError); };
  $("walk-toggle").onclick = () => {
    walk.on = !walk.on;
    $("walk-toggle").textContent = walk.on ? "Pause walk" : "Resume walk";
  };
  wireDrop();
  setRunning(false);
  state.ready = true;
}

main().catch(showError);
