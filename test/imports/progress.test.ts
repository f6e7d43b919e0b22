import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WINDOW_ROWS } from "../../worker/imports/chunk";
import { rows } from "../db";
import { newWorkspace } from "../helpers";
import { openLive, waitFor } from "../live/sockets";
import { csv, importCsv } from "./helpers";

const worker = (exports as unknown as { default: Fetcher }).default;

const peopleCsv = (n: number, prefix = "person") =>
  csv(
    "email,name,labels",
    ...Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com,Person ${i},"team-${i % 7}, all"`),
  );

describe("import progress", () => {
  it("streams NDJSON progress lines with Accept: application/x-ndjson, ending with the summary", async () => {
    const ws = await newWorkspace();
    const res = await worker.fetch("http://localhost/v1/imports", {
      method: "POST",
      headers: { Authorization: `Bearer ${ws.key}`, "Content-Type": "text/csv", Accept: "application/x-ndjson" },
      body: peopleCsv(2.5 * WINDOW_ROWS),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("Content-Type")).toBe("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    expect(summary).toMatchObject({
      type: "summary",
      status: "completed",
      total: 2.5 * WINDOW_ROWS,
      processed: 2.5 * WINDOW_ROWS,
      created: 2.5 * WINDOW_ROWS,
      errors: [],
    });
    const progress = lines.slice(0, -1);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.every((l) => l.type === "progress" && l.id === summary.id)).toBe(true);
    const processed = progress.map((l) => l.processed);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));
  });

  it("tells every admin socket: member events as rows land, and ephemeral import.progress", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const all = 1.5 * WINDOW_ROWS;
    const result = await importCsv(ws, peopleCsv(all));
    const done = () =>
      socket.messages.some((m) => m.type === "import.progress" && "status" in m && m.status === "completed");
    await waitFor("the final import.progress", done);
    const progress = socket.messages.filter((m) => m.type === "import.progress");
    expect(progress.at(-1)).toMatchObject({ importId: result.id, processed: all, created: all, total: all });
    expect(progress.every((m) => !("seq" in m))).toBe(true);
    await waitFor(
      `${all} member events`,
      () => socket.messages.filter((m) => m.type === "member.created").length === all,
    );
    // Each chunk's events reach the socket before that chunk's progress (and, as the next
    // chunk is written while one is announced, maybe the next chunk's events too).
    let created = 0;
    const seenBefore: { created: number; reported: number }[] = [];
    for (const m of socket.messages) {
      if (m.type === "member.created") created++;
      if (m.type === "import.progress" && "created" in m) seenBefore.push({ created, reported: m.created });
    }
    // The first announcement comes after the first window (or what of it the invocation's time allowed).
    expect(seenBefore[0]?.reported).toBeGreaterThan(0);
    expect(seenBefore[0]?.reported).toBeLessThanOrEqual(WINDOW_ROWS);
    expect(seenBefore.filter((p) => p.created < p.reported)).toEqual([]);
    socket.ws.close();
  });

  it("imports 20,000 rows", { timeout: 180_000 }, async () => {
    const ws = await newWorkspace();
    const started = Date.now();
    const result = await importCsv(ws, peopleCsv(20_000), {});
    console.log(`20,000 rows in ${Date.now() - started} ms`);
    expect(result).toMatchObject({ status: "completed", total: 20_000, processed: 20_000, created: 20_000, failed: 0 });
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(
      ws.id,
      "select count(*) as n from members where workspace_id = ? and email like 'person%'",
      ws.id,
    );
    expect(n).toBe(20_000);
    const [{ n: labelled } = { n: 0 }] = await rows<{ n: number }>(
      ws.id,
      "select count(*) as n from members_by_label where workspace_id = ? and label = 'all'",
      ws.id,
    );
    expect(labelled).toBe(20_000);
  });
});
