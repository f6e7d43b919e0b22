import { expect, it } from "vitest";
import { call } from "../helpers";

it("answers GET /healthz with 200 and no credential", async () => {
  const res = await call("GET", "/healthz");
  expect(res.status).toBe(200);
});
