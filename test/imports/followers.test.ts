import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { type LiveSocket, openLive, waitFor } from "../live/sockets";
import { csv, importCsv, waitForImport } from "./helpers";

type ErrorJson = { row: number; column: string; value: string; message: string };

/** Members of four kinds, each with a key: who may follow an import someone else started, and who may not. */
async function staff(ws: Workspace) {
  await addRole(ws, "clerk", ["members:write"]);
  await addRole(ws, "viewer", ["members:read"]);
  await addRole(ws, "east-admin", ["members:admin"], "team", `"east" in member.labels`);
  const [importer, otherClerk, viewer, eastAdmin] = await Promise.all([
    keyForRole(ws, "clerk"),
    keyForRole(ws, "clerk"),
    keyForRole(ws, "viewer"),
    keyForRole(ws, "east-admin"),
  ]);
  return { importer, otherClerk, viewer, eastAdmin };
}

/** Sends a ping and waits for its pong: whatever the server sent the socket before is in by then. */
async function settled(socket: LiveSocket) {
  const pongs = () => socket.messages.filter((m) => m.type === "pong").length;
  const before = pongs();
  socket.ws.send(JSON.stringify({ type: "ping" }));
  await waitFor("the pong", () => pongs() > before);
}

const progressOf = (socket: LiveSocket, importId: string) =>
  socket.messages.filter((m) => m.type === "import.progress" && "importId" in m && m.importId === importId);

describe("who follows an import", () => {
  it("is its importer or a members:admin holder without a condition: anyone else gets 404 for it and its errors", async () => {
    const ws = await newWorkspace();
    const { importer, otherClerk, viewer, eastAdmin } = await staff(ws);
    const imported = await importCsv(ws, csv("email,name", "fine@example.com,Fine", "not-an-email,Bad"), {
      key: importer.key,
      role: "clerk",
    });
    expect(imported).toMatchObject({ created: 1, failed: 1 });
    for (const key of [importer.key, ws.key]) {
      expect((await call("GET", `/v1/imports/${imported.id}`, { key })).status).toBe(200);
      expect((await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key })).status).toBe(200);
    }
    for (const key of [otherClerk.key, viewer.key, eastAdmin.key]) {
      const json = await call("GET", `/v1/imports/${imported.id}`, { key });
      expect(json.status).toBe(404);
      expect(json.body.error.code).toBe("not_found");
      expect((await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key })).status).toBe(404);
    }
  });

  it("is who the live stream tells import.progress: the importer and unconditioned admins, no other watcher", async () => {
    const ws = await newWorkspace();
    const { importer, viewer, eastAdmin } = await staff(ws);
    const [own, owner, viewing, east] = await Promise.all(
      [importer.key, ws.key, viewer.key, eastAdmin.key].map((key) => openLive({ key })),
    );
    const imported = await importCsv(ws, csv("email", "one@example.com", "two@example.com"), {
      key: importer.key,
      role: "clerk",
    });
    const completed = (socket: LiveSocket) =>
      progressOf(socket, imported.id).some((m) => "status" in m && m.status === "completed");
    await waitFor("the importer's final progress", () => !!own && completed(own));
    await waitFor("the owner's final progress", () => !!owner && completed(owner));
    for (const socket of [viewing, east]) {
      if (!socket) throw new Error("no socket");
      await settled(socket);
      expect(progressOf(socket, imported.id)).toEqual([]);
    }
    // The viewer still sees the members the import created, as every members:read watcher does.
    await waitFor("the member events", () => (viewing?.messages ?? []).some((m) => m.type === "member.created"));
    for (const socket of [own, owner, viewing, east]) socket?.ws.close();
  });
});

describe("an import's row errors", () => {
  it("name only members the reader reaches when reading: others read (outside your reach)", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:write"], "team", `!("vip" in member.labels)`);
    const desk = await keyForRole(ws, "desk");
    const plain = await addMember(ws, { email: "plain@example.com" });
    const vip = await addMember(ws, { phone: "+14155550123", labels: ["vip"] });
    // One row whose email is a member the desk reaches and whose phone is one it does not.
    const imported = await importCsv(ws, csv("email,phone", "plain@example.com,+14155550123"), {
      key: desk.key,
      role: "desk",
    });
    expect(imported.failed).toBe(1);

    const asDesk = async () => {
      const json = (await call("GET", `/v1/imports/${imported.id}`, { key: desk.key })).body;
      const errors = await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key: desk.key });
      const reason = (parse(errors.body as string) as string[][])[1]?.at(-1) ?? "";
      return { message: (json.errors as ErrorJson[])[0]?.message ?? "", reason };
    };
    let seen = await asDesk();
    for (const text of [seen.message, seen.reason]) {
      expect(text).not.toContain(vip.id);
      expect(text).toContain("(outside your reach)");
      expect(text).toContain(`(${plain.id})`);
    }
    // The owner reaches both.
    const owner = (await call("GET", `/v1/imports/${imported.id}`, { key: ws.key })).body;
    expect(owner.errors[0].message).toContain(vip.id);
    expect(owner.errors[0].message).toContain(plain.id);

    // Judged when read: a member the desk reached when the row failed but no longer does is hidden too.
    await call("POST", `/v1/members/${plain.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    seen = await asDesk();
    for (const text of [seen.message, seen.reason]) {
      expect(text).not.toContain(plain.id);
      expect(text).not.toContain(vip.id);
    }
    expect(await waitForImport(ws, imported.id)).toMatchObject({ status: "completed" });
  });
});
