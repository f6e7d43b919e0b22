// `npm run build:web`: bundles the admin view and the join pages (web/src) into
// web/public/assets, which Workers static assets serve. Build output, not committed.
import { rmSync } from "node:fs";
import * as esbuild from "esbuild";

const outdir = "web/public/assets";
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { app: "web/src/main.tsx" },
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
