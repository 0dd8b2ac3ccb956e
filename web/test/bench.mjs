// Runs the benchmark page (web/bench.html) in headless Chromium with WebGPU on SwiftShader and
// prints its lines as they appear. Arguments go to the page: `quick` (batch 64 only) and a
// filter on case names.
//
//     node web/test/bench.mjs [quick] [FILTER]      (web/bench.sh installs and builds first)

import { launch, serve, WEBGPU_FLAGS } from "./harness.mjs";

const args = process.argv.slice(2);
const query = new URLSearchParams();
if (args.includes("quick")) query.set("quick", "");
const filter = args.find((a) => a !== "quick");
if (filter) query.set("filter", filter);

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const { context, page } = await launch(WEBGPU_FLAGS, "bench");
let code = 0;
try {
  await page.goto(`${base}/bench.html?${query}`);
  let printed = 0;
  for (;;) {
    const b = await page.evaluate(() => window.bench && { lines: window.bench.lines, done: window.bench.done, error: window.bench.error });
    if (b) {
      for (; printed < b.lines.length; printed++) console.log(b.lines[printed]);
      if (b.done) {
        if (b.error) {
          console.error(`error: ${b.error}`);
          code = 1;
        }
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`browser: ${await page.evaluate(() => navigator.userAgent)}`);
} finally {
  await context.close();
  server.close();
}
process.exit(code);
