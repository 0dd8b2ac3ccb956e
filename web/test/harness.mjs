// What the browser scripts share: a static server for web/ and Debian's Chromium, headless,
// with WebGPU on SwiftShader (or switched off), driven by playwright-core.

import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";

const BASE_FLAGS = [
  "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];
export const WEBGPU_FLAGS = [
  "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader",
];
export const NO_WEBGPU_FLAGS = ["--disable-gpu", "--disable-features=WebGPU,WebGPUService"];

// ---------------------------------------------------------------- static server for web/
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".gz": "application/octet-stream", ".safetensors": "application/octet-stream",
  ".png": "image/png",
};
export function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    let file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(root)) return res.writeHead(403).end();
    if (file.endsWith(path.sep)) file = path.join(file, "index.html");
    fs.readFile(file, (err, data) => {
      if (err) return res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** A fresh headless Chromium (its own profile) with `flags`; its console errors are printed. */
export async function launch(flags, name) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `nanogan-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    args: [...BASE_FLAGS, ...flags],
    viewport: { width: 1160, height: 1400 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") console.log(`  [console.${m.type()}] ${m.text()}`);
  });
  page.on("pageerror", (e) => console.log(`  [pageerror] ${e.message}`));
  return { context, page, profile };
}
