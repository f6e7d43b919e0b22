// `npm run build:web`: bundles the admin view and the join pages (web/src) into
// web/public/assets, which Workers static assets serve, after generating the API's
// types (web/src/app/openapi.d.ts) from the document GET /openapi.json serves; and the
// API reference at /docs (Scalar, web/src/docs). Build output, not committed.
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import * as esbuild from "esbuild";
import { openApiDocument, openApiTypes } from "./openapi.mjs";

writeFileSync("web/src/app/openapi.d.ts", await openApiTypes(await openApiDocument()));

const outdir = "web/public/assets";
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  // The live stream's socket runs in a worker of its own (web/src/live/worker.ts, WORKER_URL in relay.ts).
  entryPoints: { app: "web/src/main.tsx", "live-worker": "web/src/live/worker.ts", docs: "web/src/docs/main.ts" },
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
// Scalar's standalone bundle, from npm and served from this origin: /docs's CSP
// (web/public/_headers) allows scripts from no other.
copyFileSync("node_modules/@scalar/api-reference/dist/browser/standalone.js", `${outdir}/scalar.js`);
