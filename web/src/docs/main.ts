/**
 * /docs: the interactive API reference (Scalar) over GET /openapi.json. Scalar's
 * standalone bundle (/assets/scalar.js, copied from the npm package by
 * scripts/build-web.mjs) defines `Scalar`; this starts it without anything from
 * another origin: no web fonts, no telemetry, no hosted client or agent.
 */
import type { createApiReference } from "@scalar/api-reference";

declare const Scalar: { createApiReference: typeof createApiReference };

Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  agent: { disabled: true },
  showDeveloperTools: "never",
  documentDownloadType: "json",
  showOperationId: true,
});
