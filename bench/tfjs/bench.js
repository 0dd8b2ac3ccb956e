// One contender per page load (vs.mjs opens each in a fresh browser): nanogan's wasm Lab or
// TensorFlow.js on one backend, both timed by the same protocol below, so the two sides differ
// only in the library. ?probe instead reports the browser, its WebGPU adapter and WebGL renderer.

import { Gan } from "./gan.js";

const IMAGES = "/data/train-images-idx3-ubyte.gz";
const TFJS = "/tfjs/node_modules/@tensorflow/";
// SwiftShader on 2 cores makes an iteration take ~1 s, so a few timed ones, each awaited on its
// own; fast contenders get more of them, up to a time budget, for a steadier median.
const ITERS = { warmup: 2, min: 5, slowMin: 3, max: 40, budgetMs: 20_000 };
const GRIDS = { warmup: 3, min: 10, slowMin: 5, max: 60, budgetMs: 10_000 };

const params = new URLSearchParams(location.search);
const out = document.getElementById("out");
const canvas = document.getElementById("grid");

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

async function gpuAdapter() {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return "no WebGPU adapter";
  const i = adapter.info || {};
  return `${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") || "unnamed"}${i.isFallbackAdapter ? " (fallback)" : ""}`;
}

function webglRenderer() {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return "no WebGL2";
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  return gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
}

/** The 10,000 digits as a [n, 784] float32 tensor in [-1, 1], decoded from the IDX gz here. */
async function digitsTensor(tf, gz) {
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const n = new DataView(raw.buffer).getUint32(4);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = raw[16 + i] / 127.5 - 1;
  return tf.tensor2d(x, [n, 784]);
}

/** Draws a grid the way web/main.js does: RGBA from the Lab, putImageData into a 2D canvas. */
function put(grid) {
  canvas.width = grid.width;
  canvas.height = grid.height;
  canvas.getContext("2d").putImageData(new ImageData(grid.rgba, grid.width, grid.height), 0, 0);
}

async function nanogan(gz) {
  const { default: init, Lab } = await import("/pkg/nanogan.js");
  await init();
  const lab = await Lab.open();
  await lab.setDataset(gz);
  return {
    info: `adapter ${lab.adapter()}`,
    start: () => lab.start("model=mlp loss=lsgan batch=64"),
    step: async () => Array.from((await lab.train(1)).slice(1, 3)),
    grid: async () => {
      const g = await lab.grid(true, 64, 8, 2);
      put(g);
      g.free();
    },
  };
}

async function tfjs(gz, backend) {
  await loadScript(`${TFJS}tfjs/dist/tf.min.js`);
  const tf = window.tf;
  if (backend === "wasm") {
    await loadScript(`${TFJS}tfjs-backend-wasm/dist/tf-backend-wasm.min.js`);
    tf.wasm.setWasmPaths(`${TFJS}tfjs-backend-wasm/dist/`);
    // tfjs's default threads: navigator.hardwareConcurrency / 2 (it assumes hyperthreads), and
    // setThreadsCount cannot go above that, so on 2 logical cores XNNPACK gets 1 thread.
  }
  if (backend === "webgpu") await loadScript(`${TFJS}tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js`);
  // setBackend quietly falls back to another backend when this one fails: check, loudly.
  const ok = await tf.setBackend(backend);
  await tf.ready();
  if (!ok || tf.getBackend() !== backend) throw new Error(`tf.setBackend("${backend}") failed: tfjs is on "${tf.getBackend()}"`);
  const images = await digitsTensor(tf, gz);
  let info = `tfjs ${tf.version.tfjs} ${tf.getBackend()}`;
  if (backend === "wasm") {
    const [simd, threads] = await Promise.all([tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")]);
    info += `, simd ${simd ? "on" : "off"}, threads ${threads ? `on (${tf.wasm.getThreadsCount()})` : "off"}`;
  }
  if (backend === "webgl") info += `, WebGL ${tf.env().getNumber("WEBGL_VERSION")}, float32 ${tf.env().getBool("WEBGL_RENDER_FLOAT32_ENABLED")}`;
  let gan;
  return {
    info,
    start: () => (gan = new Gan(tf, images)),
    step: () => gan.iterate(),
    grid: () => gan.grid(canvas, 64, 8, 2),
  };
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1], n: s.length };
}

// A contender whose warm-up call takes longer than this gets one warm-up and `slowMin` timed
// calls, so that it stays within about a minute.
const SLOW_MS = 5000;

/** Times `once` alone each call, at least `min` times and on until the budget (or `max`) is spent. */
async function repeat(once, { warmup, min, slowMin, max, budgetMs }) {
  for (let i = 0; i < warmup; i++) {
    const t = performance.now();
    await once();
    if (performance.now() - t > SLOW_MS) {
      min = slowMin;
      break;
    }
  }
  const ms = [];
  const t0 = performance.now();
  while (ms.length < min || (ms.length < max && performance.now() - t0 < budgetMs)) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  return stats(ms);
}

async function run(name) {
  const gz = new Uint8Array(await (await fetch(IMAGES)).arrayBuffer());
  // Library load, device, dataset upload: outside every timed figure, as bench.html leaves it.
  let t = performance.now();
  const c = name === "nanogan" ? await nanogan(gz) : await tfjs(gz, name);
  const initMs = performance.now() - t;
  out.textContent = `${name}: ${c.info}\ntraining…`;
  // First iteration: creating the model (and, lazily, its shaders) plus one iteration.
  t = performance.now();
  c.start();
  let losses = await c.step();
  const firstMs = performance.now() - t;
  const train = await repeat(async () => (losses = await c.step()), ITERS);
  if (!losses.every(Number.isFinite)) throw new Error(`losses went non-finite: ${losses}`);
  out.textContent += "\nsampling…";
  t = performance.now();
  await c.grid();
  const firstGridMs = performance.now() - t;
  const grid = await repeat(() => c.grid(), GRIDS);
  return { name, info: c.info, initMs, firstMs, train, firstGridMs, grid, losses, isolated: crossOriginIsolated };
}

async function probe() {
  const ua = await navigator.userAgentData?.getHighEntropyValues(["fullVersionList"]);
  const browser = ua?.fullVersionList?.map((b) => `${b.brand} ${b.version}`).find((b) => /Chrom/.test(b)) || navigator.userAgent;
  return { browser, adapter: await gpuAdapter(), webgl: webglRenderer(), cores: navigator.hardwareConcurrency, isolated: crossOriginIsolated };
}

(params.has("probe") ? probe() : run(params.get("contender")))
  .then((r) => (window.result = r))
  .catch((e) => (window.result = { error: e?.message || String(e) }));
