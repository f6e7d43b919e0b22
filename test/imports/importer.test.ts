import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { processWindow, WINDOW_ROWS } from "../../worker/imports/chunk";
import { beforeFirstBatch, rows } from "../db";
import { addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { csv, deliver, importMessage, recordUpload } from "./helpers";

const peopleCsv = (n: number) =>
  csv("email,name", ...Array.from({ length: n }, (_, i) => `person${i}@example.com,Person ${i}`));

/** A member of role `clerk` (members:write and labels:read) and an import of theirs that needs three chunks, the first committed. */
async function importMidway(ws: Workspace, role = "clerk") {
  await addRole(ws, "clerk", ["members:write", "labels:read"]);
  await addRole(ws, "helper", ["labels:read"]);
  const { member } = await keyForRole(ws, "clerk");
  const job = await recordUpload(ws, peopleCsv(2.5 * WINDOW_ROWS), {
    importer: { id: member.id, scopes: ["members:write", "labels:read"] },
    role,
  });
  const first = await processWindow(env, importMessage(job));
  expect(first).toMatchObject({ kind: "committed", row: { status: "running", processed: WINDOW_ROWS } });
  return { importer: member, job };
}

/** The import as GET /v1/imports/{id} shows it to the owner, once the consumer has gone on with it, and the members it left. */
async function finished(ws: Workspace, importId: string) {
  await deliver({ id: importId, workspaceId: ws.id });
  const res = await call("GET", `/v1/imports/${importId}`, { key: ws.key });
  const [{ n } = { n: 0 }] = await rows<{ n: number }>(
    ws.id,
    "select count(*) as n from members where workspace_id = ? and email like 'person%'",
    ws.id,
  );
  return { json: res.body, members: n };
}

describe("an import whose importer loses what it needs between chunks", () => {
  it("fails, saying the importer was archived, and keeps the rows already committed", async () => {
    const ws = await newWorkspace();
    const { importer, job } = await importMidway(ws);
    expect((await call("POST", `/v1/members/${importer.id}/archive`, { key: ws.key })).status).toBe(200);
    const { json, members } = await finished(ws, job.id);
    expect(json).toMatchObject({ status: "failed", processed: WINDOW_ROWS, created: WINDOW_ROWS });
    expect(json.error).toBe(`Stopped after ${WINDOW_ROWS} rows (those stay imported): the importer was archived.`);
    expect(members).toBe(WINDOW_ROWS);
  });

  it("fails when the importer is given a role without members:write", async () => {
    const ws = await newWorkspace();
    const { importer, job } = await importMidway(ws);
    expect((await call("PATCH", `/v1/members/${importer.id}`, { key: ws.key, body: { role: "helper" } })).status).toBe(
      200,
    );
    const { json, members } = await finished(ws, job.id);
    expect(json).toMatchObject({ status: "failed", created: WINDOW_ROWS });
    expect(json.error).toContain(`the importer's role "helper" no longer grants members:write.`);
    expect(members).toBe(WINDOW_ROWS);
  });

  it("fails when the importer's role no longer grants what the import's role does", async () => {
    const ws = await newWorkspace();
    const { job } = await importMidway(ws, "helper");
    const edit = await call("PATCH", "/v1/roles/clerk", { key: ws.key, body: { scopes: ["members:write"] } });
    expect(edit.status).toBe(200);
    const { json, members } = await finished(ws, job.id);
    expect(json).toMatchObject({ status: "failed", created: WINDOW_ROWS });
    expect(json.error).toContain(
      `the importer may no longer assign the import's role "helper", which needs labels:read.`,
    );
    expect(members).toBe(WINDOW_ROWS);
  });

  it("commits no chunk whose batch lands after the importer was archived", async () => {
    const ws = await newWorkspace();
    const { importer, job } = await importMidway(ws);
    // The owner archives the importer between the chunk's reads and its batch.
    const racing = beforeFirstBatch(async () => {
      expect((await call("POST", `/v1/members/${importer.id}/archive`, { key: ws.key })).status).toBe(200);
    });
    expect(await processWindow(racing, importMessage(job))).toMatchObject({
      kind: "committed",
      row: { status: "failed" },
    });
    const { json, members } = await finished(ws, job.id);
    expect(json).toMatchObject({ status: "failed", processed: WINDOW_ROWS });
    expect(json.error).toContain("the importer was archived.");
    expect(members).toBe(WINDOW_ROWS);
  });
});
