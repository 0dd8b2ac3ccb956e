// Browser test of the real page: serves web/ on localhost, drives Debian's Chromium (WebGPU on
// SwiftShader, on the CPU) with playwright-core, and checks that
//   1. the pretrained generator draws a non-blank sample grid,
//   2. 20 training steps give finite losses that reach the chart, and the sample grid changes,
//      and FID and modes of 500 samples are measured when training pauses,
//   3. the checkpoint and the f16 generator download and load back; a broken file gives a clear error,
//      a gzipped dataset loads in the wasm and a truncated one is refused,
//   4. with WebGPU off, the page says so plainly instead of staying blank.
// Screenshots go to $NANOGAN_SCREENSHOTS (default web/test/out), printed at the start.
// Run through web/test/run.sh (installs, builds); alone: node web/test/browser.mjs.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launch, NO_WEBGPU_FLAGS, root, serve, WEBGPU_FLAGS } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.env.NANOGAN_SCREENSHOTS || path.join(here, "out"));
const STEPS = Number(process.env.NANOGAN_TEST_STEPS || 20);
fs.mkdirSync(out, { recursive: true });
console.log(`screenshots: ${out}`);

// ---------------------------------------------------------------- checks
const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
}

/** Clicks `selector`, saves the download it starts under `out`, returns its path. */
async function downloadTo(page, selector) {
  await page.waitForSelector(`${selector}:not([disabled])`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const file = path.join(out, download.suggestedFilename());
  await download.saveAs(file);
  return file;
}

/** Pixel statistics of a canvas: grey-level spread, a hash, and counts of two line colours. */
function canvasStats(page, id) {
  return page.evaluate((id) => {
    const c = document.getElementById(id);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sum2 = 0, hash = 2166136261, red = 0, blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      sum += r; sum2 += r * r;
      hash = Math.imul(hash ^ r ^ (g << 8) ^ (b << 16), 16777619) >>> 0;
      if (r > 150 && g < 140 && b < 90) red++; // D's line, #d9480f
      if (b > 150 && r < 120) blue++; // G's line, #1c7ed6
    }
    const n = d.length / 4, mean = sum / n;
    return { std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), mean, hash, red, blue };
  }, id);
}

async function withWebGpu(base) {
  const { context, page } = await launch(WEBGPU_FLAGS, "webgpu");
  try {
    const t0 = Date.now();
    await page.goto(`${base}/index.html`);
    await page.waitForFunction(() => window.nanogan && (window.nanogan.firstSamplesMs !== null || window.nanogan.error),
      null, { timeout: 180_000 });
    const s = await page.evaluate(() => ({ ...window.nanogan }));
    check("WebGPU adapter opened", !!s.adapter && !s.error, s.adapter || s.error);
    const pre = await canvasStats(page, "pretrained-grid");
    check("pretrained sampler draws a non-blank grid", pre.std > 10, `grey std ${pre.std.toFixed(1)}, mean ${pre.mean.toFixed(1)}`);
    const scores = await page.locator("#pretrained-metrics").innerText();
    check("the pretrained generator's scores are printed under it", /^FID \d+\.\d+ .*modes \d+\/10/.test(scores), scores);
    console.log(`  first pretrained samples ${s.firstSamplesMs} ms after navigation (${Date.now() - t0} ms wall)`);
    await page.screenshot({ path: path.join(out, "1-pretrained.png"), fullPage: true });

    await page.waitForFunction(() => window.nanogan.ready || window.nanogan.error, null, { timeout: 120_000 });
    const before = await canvasStats(page, "train-grid");
    await page.fill("input[name=stop_at]", String(STEPS));
    await page.click("#start");
    await page.waitForFunction((n) => (window.nanogan.trainSteps >= n && !window.nanogan.running) || window.nanogan.error,
      STEPS, { timeout: 480_000 });
    const t = await page.evaluate(() => ({ ...window.nanogan }));
    const finite = t.losses.every((l) => Number.isFinite(l.d) && Number.isFinite(l.g));
    const last = t.losses[t.losses.length - 1];
    check(`${STEPS} training steps give ${STEPS} finite losses`, !t.error && t.losses.length === STEPS && finite,
      t.error || (last && `step ${last.step}: D ${last.d.toFixed(4)}, G ${last.g.toFixed(4)}`));
    const chart = await canvasStats(page, "chart");
    check("losses appear in the chart", t.chartPoints === STEPS && chart.red > 20 && chart.blue > 20,
      `${t.chartPoints} points, ${chart.red} D-coloured and ${chart.blue} G-coloured pixels`);
    const after = await canvasStats(page, "train-grid");
    check("the sample grid changes with training", after.hash !== before.hash && after.std > 5,
      `hash ${before.hash} -> ${after.hash}, grey std ${after.std.toFixed(1)}`);
    const m = t.metrics[t.metrics.length - 1];
    check("FID and modes are measured in the browser when training pauses",
      t.classifier && m && m.step === STEPS && Number.isFinite(m.fid) && m.fid > 0 && m.histogram.length === 10
        && m.histogram.reduce((a, b) => a + b, 0) === 500 && /^\d+\/10$/.test(await page.locator("#stat-modes").innerText()),
      m ? `step ${m.step}: FID ${m.fid.toFixed(1)}, IS ${m.is.toFixed(2)}, modes ${m.modes}/10 [${m.histogram.join(" ")}], ${Math.round(t.evalMs)} ms`
        : `no metrics (classifier loaded: ${t.classifier})`);
    console.log(`  training: ${t.trainSteps} steps in ${(t.trainMs / 1000).toFixed(1)} s of train() calls = ${(1000 * t.trainSteps / t.trainMs).toFixed(2)} steps/s (${t.adapter})`);
    await page.screenshot({ path: path.join(out, "2-trained.png"), fullPage: true });

    // Checkpoints: download the full one and the f16 generator, load each back as a user would.
    const full = await downloadTo(page, "#download");
    await page.setInputFiles("#file", full);
    await page.waitForFunction(() => /Resumed/.test(document.getElementById("settings-note").textContent)
      || window.nanogan.error, null, { timeout: 120_000 });
    const note = await page.locator("#settings-note").innerText();
    check("a downloaded checkpoint loads back and resumes", note.includes(`at step ${STEPS}`), `${path.basename(full)}: ${note}`);
    const gen = await downloadTo(page, "#download-g");
    await page.setInputFiles("#file", gen);
    await page.waitForFunction(() => /Generator from/.test(document.getElementById("pretrained-info").textContent)
      || window.nanogan.error, null, { timeout: 120_000 });
    const info = await page.locator("#pretrained-info").innerText();
    check("a downloaded f16 generator loads as the sampler", /Generator from .*model=mlp/.test(info),
      `${fs.statSync(gen).size} bytes`);
    // The config text is written by the wasm's own f32 formatter (src/io/float_text.rs): the
    // same digits as the native `{}`, never an exponent.
    check("the wasm writes floats as the native build does", /beta1=0\.5 beta2=0\.999 eps=0\.00000001 /.test(info),
      info.match(/lr_d=\S+ lr_g=\S+ beta1=\S+ beta2=\S+ eps=\S+/)?.[0] ?? info);
    const bad = path.join(out, "not-a-checkpoint.safetensors");
    fs.writeFileSync(bad, "hello");
    await page.setInputFiles("#file", bad);
    await page.waitForFunction(() => !document.getElementById("error").hidden, null, { timeout: 30_000 });
    const err = await page.locator("#error").innerText();
    check("a broken file gives a clear error", /not-a-checkpoint\.safetensors: not a safetensors file/.test(err), err);

    // The wasm gunzips datasets with the browser's DecompressionStream: a whole file loads, a
    // truncated one is refused with a message naming it.
    const gz = await page.evaluate(async () => {
      const { Lab } = await import("/pkg/nanogan.js");
      const bytes = new Uint8Array(await (await fetch("/data/train-images-idx3-ubyte.gz")).arrayBuffer());
      const lab = await Lab.open();
      const whole = await lab.setDataset(bytes);
      const cut = await lab.setDataset(bytes.slice(0, bytes.length >> 1)).then(() => "accepted", (e) => e.message);
      lab.free();
      return { whole, cut };
    });
    check("a gzipped dataset loads and a truncated one is refused by name",
      gz.whole === 10000 && /train-images: not a valid gzip stream/.test(gz.cut), `${gz.whole} images; ${gz.cut}`);

    // The discrete BGAN from the controls: a few steps on binary digits, a binary sample grid.
    await page.evaluate(() => { window.nanogan.error = null; }); // the broken file's, checked above
    await page.selectOption("select[name=loss]", "bgan-discrete");
    await page.fill("input[name=batch]", "8");
    await page.fill("input[name=bgan_samples]", "4");
    // REINFORCE here: the native tests train both estimators, this checks the control's wiring.
    await page.selectOption("select[name=estimator]", "reinforce");
    await page.click("#reset");
    await page.waitForFunction(() => window.nanogan.trainSteps === 0 && !document.getElementById("start").disabled,
      null, { timeout: 60_000 });
    await page.fill("input[name=stop_at]", "5");
    await page.click("#start");
    await page.waitForFunction(() => (window.nanogan.trainSteps >= 5 && !window.nanogan.running) || window.nanogan.error,
      null, { timeout: 240_000 });
    const dt = await page.evaluate(() => ({ ...window.nanogan }));
    const levels = await page.evaluate(() => {
      const c = document.getElementById("train-grid");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4) seen.add(d[i]);
      return [...seen].sort((a, b) => a - b);
    });
    const dfinite = dt.losses.length === 5 && dt.losses.every((l) => Number.isFinite(l.d) && Number.isFinite(l.g));
    // Binary pixels (0 and 255) plus at most the grid's padding colour.
    check("the discrete BGAN trains from the page and draws binary digits",
      !dt.error && dfinite && levels.length <= 3 && levels.includes(0) && levels.includes(255),
      dt.error || `${dt.losses.length} finite losses; grey levels in the grid: ${levels.join(", ")}`);
    await page.screenshot({ path: path.join(out, "2b-discrete.png"), fullPage: true });
  } finally {
    await context.close();
  }
}

async function withoutWebGpu(base) {
  const { context, page } = await launch(NO_WEBGPU_FLAGS, "nowebgpu");
  try {
    await page.goto(`${base}/index.html`);
    await page.waitForFunction(() => window.nanogan && window.nanogan.error, null, { timeout: 60_000 });
    const banner = await page.locator("#no-webgpu");
    const visible = await banner.isVisible();
    const text = visible ? await banner.innerText() : "";
    check("without WebGPU the page explains how to enable it", visible && /WebGPU/.test(text) && /chrome:\/\/flags/.test(text),
      (await page.evaluate(() => window.nanogan.error)) || "");
    await page.screenshot({ path: path.join(out, "3-no-webgpu.png"), fullPage: true });
  } finally {
    await context.close();
  }
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
console.log(`serving ${root} at ${base}`);
try {
  for (const [name, fn] of [["with WebGPU", withWebGpu], ["without WebGPU", withoutWebGpu]]) {
    try {
      await fn(base);
    } catch (e) {
      check(name, false, e.message.split("\n")[0]);
    }
  }
} finally {
  server.close();
}
const failed = results.filter((r) => !r.ok).length;
console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
