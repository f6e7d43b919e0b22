// `npm run build:web`: bundles the admin view and the join pages (web/src) into
// web/public/assets, which Workers static assets serve. Build output, not committed.
import { rmSync } from "node:fs";
import * as esbuild from "esbuild";

const outdir = "web/public/assets";
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  // The live stream's socket runs in a worker of its own (web/src/live/worker.ts, WORKER_URL in relay.ts).
  entryPoints: { app: "web/src/main.tsx", "live-worker": "web/src/live/worker.ts" },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir,
  logLevel: "warning",
});
