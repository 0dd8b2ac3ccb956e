// Runs bench.html once per contender per round, each in a fresh headless Chromium (WebGPU and
// WebGL both on SwiftShader), alternating the order each round, then prints the medians and the
// median of the per-round tfjs/nanogan ratios. bench/vs_tfjs.sh installs and calls it.
//
//     node bench/tfjs/vs.mjs [ROUNDS] [CONTENDER ...]     (nanogan wasm webgl webgpu: all four)

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launch, root as webRoot, WEBGPU_FLAGS } from "../../web/test/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] || 3);
const ALL = ["nanogan", "wasm", "webgl", "webgpu"];
const CONTENDERS = process.argv.length > 3 ? ALL.filter((c) => process.argv.includes(c)) : ALL;
const label = (c) => (c === "nanogan" ? "nanogan" : `tfjs-${c}`);
// A run that has not finished by then is reported unavailable (SwiftShader is slow, not this slow).
const RUN_TIMEOUT_MS = 6 * 60_000;

// ------------------------------------------------------------ static server: web/ and bench/tfjs/
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json",
};
function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const tfjs = url.pathname.startsWith("/tfjs/");
    const base = tfjs ? here : webRoot;
    const file = path.normalize(path.join(base, decodeURIComponent(tfjs ? url.pathname.slice(5) : url.pathname)));
    if (!file.startsWith(base + path.sep)) return res.writeHead(403).end();
    fs.readFile(file, (err, data) => {
      if (err) return res.writeHead(404).end("not found");
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] || "application/octet-stream",
        // Cross-origin isolation, for SharedArrayBuffer: tfjs's wasm threads need it. Every
        // contender is served the same way.
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Loads `query` in a fresh browser and resolves with the page's window.result. */
async function visit(base, query, name) {
  const { context, page, profile } = await launch(WEBGPU_FLAGS, `vs-tfjs-${name}`);
  // Our own console filter instead of the harness's: tfjs's advice to use tf.browser.draw
  // (toPixels is the analogue of nanogan's read-back + putImageData) would repeat every run.
  page.removeAllListeners("console");
  page.on("console", (m) => {
    if ((m.type() === "error" || m.type() === "warning") && !m.text().includes("toPixels is not efficient")) {
      console.log(`  [${name} console.${m.type()}] ${m.text()}`);
    }
  });
  try {
    await page.goto(`${base}/tfjs/bench.html?${query}`);
    const handle = await page.waitForFunction(() => window.result, null, { timeout: RUN_TIMEOUT_MS, polling: 500 });
    return await handle.jsonValue();
  } catch (e) {
    return { error: e.message.split("\n")[0] };
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const pad = (s, n) => String(s).padStart(n);

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
try {
  const env = await visit(base, "probe", "probe");
  if (env.error) throw new Error(`probe page failed: ${env.error}`);
  console.log(`date:     ${new Date().toISOString()}`);
  console.log(`browser:  ${env.browser} (headless, ${env.cores} cores seen, cross-origin isolated: ${env.isolated})`);
  console.log(`WebGPU:   ${env.adapter}`);
  console.log(`WebGL:    ${env.webgl}`);
  console.log(`per run:  train = ms per iteration (1 D step + 1 G step, batch 64), median (min–max ×n);`);
  console.log(`          grid = G forward of 64 in eval mode + 8×8 grid drawn into a canvas, median;`);
  console.log(`          first = model creation + first iteration; init = library, device and dataset, untimed elsewhere`);
  console.log();

  const results = Object.fromEntries(CONTENDERS.map((c) => [c, []])); // per round: a result or null
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? CONTENDERS : [...CONTENDERS].reverse();
    for (const c of order) {
      const r = await visit(base, `contender=${c}`, c);
      const name = `round ${round} ${label(c)}`.padEnd(21);
      if (r.error) {
        console.log(`${name} unavailable: ${r.error}`);
        results[c][round - 1] = null;
        continue;
      }
      results[c][round - 1] = r;
      const t = r.train;
      console.log(`${name} train ${pad(f(t.median), 7)} ms (${f(t.min)}–${f(t.max)} ×${t.n})  grid ${pad(f(r.grid.median), 6)} ms (×${r.grid.n}, first ${f(r.firstGridMs, 0)})` +
        `  first ${pad(f(r.firstMs, 0), 6)} ms  init ${f(r.initMs, 0)} ms  losses D ${f(r.losses[0], 3)} G ${f(r.losses[1], 3)}  [${r.info}]`);
    }
  }

  console.log();
  console.log(`median of ${rounds} rounds (ms); speedup = tfjs ms / nanogan ms, the median of the per-round ratios (> 1: nanogan faster)`);
  console.log(`${"contender".padEnd(12)} ${pad("train", 9)} ${pad("grid", 8)} ${pad("first", 8)}   ${pad("train ×", 8)} ${pad("grid ×", 7)} ${pad("first ×", 8)}  runs`);
  const ours = results.nanogan || [];
  const metrics = [(r) => r.train.median, (r) => r.grid.median, (r) => r.firstMs];
  for (const c of CONTENDERS) {
    const ok = results[c].filter(Boolean);
    if (!ok.length) {
      console.log(`${label(c).padEnd(12)} unavailable`);
      continue;
    }
    const med = metrics.map((m) => median(ok.map(m)));
    const ratio = metrics.map((m) => median(results[c].map((r, i) => (r && ours[i] ? m(r) / m(ours[i]) : NaN))));
    const ratios = c === "nanogan" ? "" : `   ${pad(f(ratio[0], 2), 8)} ${pad(f(ratio[1], 2), 7)} ${pad(f(ratio[2], 2), 8)}`;
    console.log(`${label(c).padEnd(12)} ${pad(f(med[0]), 9)} ${pad(f(med[1]), 8)} ${pad(f(med[2], 0), 8)}${ratios.padEnd(30)}  ${ok.length}/${rounds}`);
  }
} finally {
  server.close();
}
