// Pipeline build time of every WGSL entry point in headless Chromium (WebGPU on SwiftShader):
// what the page's first training iteration waits for. The browser twin of
// `cargo run --release --example bench -- --compile`. Each module is `common.wgsl` + its file,
// stripped as src/gpu/wgsl_text.rs strips it, so the compiler sees what the wasm ships.
//
//     bash web/test/install.sh --if-missing && node web/test/compile_times.mjs [entry filter …]
import { launch, serve, WEBGPU_FLAGS } from "./harness.mjs";
import fs from "node:fs";
const dir = new URL("../../wgsl/", import.meta.url).pathname;
const strip = (s) => s.split("\n").map((l) => l.replace(/\/\/.*$/, "").trim()).join("\n");
const common = fs.readFileSync(dir + "common.wgsl", "utf8");
const only = process.argv.slice(2);
const mods = fs.readdirSync(dir).filter((f) => f !== "common.wgsl").map((f) => {
  const src = strip(common + "\n" + fs.readFileSync(dir + f, "utf8"));
  const entries = [...src.matchAll(/@compute[^\n]*\n(?:@[^\n]*\n)*fn (\w+)/g)].map((m) => m[1]);
  return { f, src, entries: only.length ? entries.filter((e) => only.some((o) => e.includes(o))) : entries };
});
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const { context, page } = await launch(WEBGPU_FLAGS, "ctime");
// Any page of the origin will do: WebGPU needs a secure context, which 127.0.0.1 is.
await page.goto(`${base}/style.css`);
const out = await page.evaluate(async (mods) => {
  const a = await navigator.gpu.requestAdapter();
  const d = await a.requestDevice();
  const res = [];
  for (const m of mods) {
    const mod = d.createShaderModule({ code: m.src });
    for (const e of m.entries) {
      const t = performance.now();
      await d.createComputePipelineAsync({ layout: "auto", compute: { module: mod, entryPoint: e } });
      res.push([performance.now() - t, e]);
    }
  }
  return res;
}, mods);
out.sort((a, b) => b[0] - a[0]);
let total = 0;
for (const [ms, e] of out) { total += ms; console.log(`${ms.toFixed(1).padStart(9)} ms  ${e}`); }
console.log("total", total.toFixed(0));
await context.close();
server.close();
