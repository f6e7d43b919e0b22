import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS } from "../../worker/imports/queue";
import { call, newWorkspace } from "../helpers";
import { csv, deliver, recordUpload } from "../imports/helpers";
import { frozenForSwitch } from "./helpers";

describe("an import while its workspace's move switches", () => {
  it("waits for the switch, even on its last delivery, then imports every row", async () => {
    const ws = await newWorkspace({ shard: 0 });
    const job = await recordUpload(ws, csv("name,email", "Ann,ann@x.test", "Bo,bo@x.test"));

    const unfreeze = await frozenForSwitch(ws);
    // A refusal of the switch is no failure of the import: its message comes again.
    const refused = await deliver(job, MAX_ATTEMPTS);
    expect(refused.retryMessages).toHaveLength(1);
    expect((await call("GET", `/v1/imports/${job.id}`, { key: ws.key })).body.status).toBe("running");

    await unfreeze();
    await deliver(job, 1);
    const done = await call("GET", `/v1/imports/${job.id}`, { key: ws.key });
    expect(done.body).toMatchObject({ status: "completed", created: 2, failed: 0 });
  });
});
