import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, call, newIp, newWorkspace } from "../helpers";
import { latestToken } from "../links";

/**
 * Locally D1 has no replicas, so these tests hold the round trip a client makes: the
 * bookmark an answer carries, sent back, is taken, and the next answer's is no older.
 * D1's bookmarks are hex groups joined by "-" and sort oldest to newest as strings
 * (locally `00000000-00000029-00000000-0000…`, and every query moves it on, reads too).
 */
const BOOKMARK = /^[0-9]+:[0-9a-f]+(?:-[0-9a-f]+)+$/;
const bookmarkOf = (res: { headers: Headers }) => res.headers.get("x-d1-bookmark");
const withBookmark = (bookmark: string | null) => ({ "x-d1-bookmark": bookmark ?? "" });

describe("x-d1-bookmark: reading your own writes when a replica answers", () => {
  it("answers a read with a bookmark, and a read that sends it back with one no older", async () => {
    const ws = await newWorkspace();
    const first = await call("GET", "/v1/members", { key: ws.key });
    expect(first.status).toBe(200);
    const bookmark = bookmarkOf(first);
    expect(bookmark).toMatch(BOOKMARK);

    const again = await call("GET", "/v1/members", { key: ws.key, headers: withBookmark(bookmark) });
    expect(again.status).toBe(200);
    expect(bookmarkOf(again)).toMatch(BOOKMARK);
    expect((bookmarkOf(again) ?? "") >= (bookmark ?? "")).toBe(true);
  });

  it("answers a write with a bookmark past the reads before it, and a read that sends it back sees the write", async () => {
    const ws = await newWorkspace();
    const before = bookmarkOf(await call("GET", "/v1/members", { key: ws.key }));
    const created = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Grace Hopper", email: "grace@x.test" },
      headers: withBookmark(before),
    });
    expect(created.status).toBe(201);
    const written = bookmarkOf(created);
    expect(written).toMatch(BOOKMARK);
    expect((written ?? "") > (before ?? "")).toBe(true);

    const read = await call("GET", `/v1/members/${created.body.id}`, { key: ws.key, headers: withBookmark(written) });
    expect(read.status).toBe(200);
    expect(read.body.name).toBe("Grace Hopper");
    expect((bookmarkOf(read) ?? "") >= (written ?? "")).toBe(true);
  });

  it.each([
    ["not hex", "latest"],
    ["a space in it", "00000001-0000 0002"],
    ["too long", `00000001-${"0".repeat(200)}`],
    ["upper case", "0000000A-00000002"],
  ])("refuses a bookmark that is %s with 400 invalid_bookmark, and writes nothing", async (_, bad) => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const write = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Nobody", email: "nobody@x.test" },
      headers: { "x-d1-bookmark": bad },
    });
    expect(write.status).toBe(400);
    expect(write.body.error).toMatchObject({ code: "invalid_bookmark", message: expect.any(String) });
    expect(await snapshot(ws.id)).toEqual(before);

    const read = await call("GET", "/v1/members", { key: ws.key, headers: { "x-d1-bookmark": bad } });
    expect(read.status).toBe(400);
    expect(read.body.error.code).toBe("invalid_bookmark");
  });

  it("gives none to a refused credential, nor to public calls that must not tell whether they wrote", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await addMember(ws, { email: "known@x.test" });
    const answers = [
      await call("GET", "/v1/members", { key: "not-a-key" }),
      await call("POST", `/public/${ws.slug}/join-requests`, {
        body: { name: "Kim", email: "kim@x.test" },
        headers: { "CF-Connecting-IP": newIp() },
      }),
      await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email: "known@x.test" } }),
    ];
    expect(answers.map((res) => res.status)).toEqual([401, 202, 202]);
    expect(answers.map(bookmarkOf)).toEqual([null, null, null]);
  });

  it("answers a sign-in with the bookmark of the session it made, which the next request finds", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "ada@x.test", role: "manager" });
    expect((await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email: "ada@x.test" } })).status).toBe(
      202,
    );
    const verified = await call("POST", "/v1/auth/verify", { body: { token: await latestToken(ws, "ada@x.test") } });
    expect(verified.status).toBe(200);
    const bookmark = bookmarkOf(verified);
    expect(bookmark).toMatch(BOOKMARK);

    const cookie = verified.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const me = await call("GET", "/v1/workspace", { headers: { Cookie: cookie, ...withBookmark(bookmark) } });
    expect(me.status).toBe(200);
    expect((bookmarkOf(me) ?? "") >= (bookmark ?? "")).toBe(true);
  });
});
