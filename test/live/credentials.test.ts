import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rows } from "../db";
import { addMember, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, signIn } from "../links";
import { connectLive, type LiveSocket, openLive, waitFor } from "./sockets";

/** Opens the live stream with a session cookie, as a same-origin page would. */
async function openWithCookie(cookie: string) {
  return openLive({ headers: asBrowser(cookie) });
}

/** A single-use ticket minted with a session cookie or an API key. */
async function ticketFrom(credential: { cookie: string } | { key: string }) {
  const res = await call("POST", "/v1/live/tickets", {
    ...("key" in credential ? { key: credential.key } : { headers: asBrowser(credential.cookie) }),
  });
  expect(res.status).toBe(201);
  return res.body.ticket as string;
}

/** Whether a socket, open now, still gets what is written after: a new member's event. */
async function stillStreams(ws: Workspace, socket: LiveSocket) {
  const member = await addMember(ws, { email: `later-${crypto.randomUUID()}@example.test` });
  await waitFor("the later event", () =>
    socket.messages.some((m) => "seq" in m && (m.data as { member?: { id?: string } }).member?.id === member.id),
  );
  return socket.closed === null;
}

const closedWith = async (socket: LiveSocket) => {
  await waitFor("the close", () => socket.closed !== null);
  return socket.closed?.code;
};

/**
 * Sets a credential's stored expiry a moment ahead, then waits it out: the socket opened
 * before it passed, and only the object's sweep can tell it ended (no event says so).
 */
async function expireSoon(ws: Workspace, table: "sessions" | "api_keys", memberId: string) {
  const at = Date.now() + 1_000;
  await rows(ws.id, `update ${table} set expires_at = ? where member_id = ?`, new Date(at).toISOString(), memberId);
  return async () => {
    while (Date.now() <= at) await new Promise((resolve) => setTimeout(resolve, at - Date.now() + 20));
  };
}

describe("a live socket ends with the credential it was opened with", () => {
  it("closes the sockets of a session, opened with its cookie or a ticket it minted, when it logs out", async () => {
    const ws = await newWorkspace();
    const email = `owner@${ws.slug}.test`;
    const leaving = await signIn(ws, email);
    const staying = await signIn(ws, email);
    const byCookie = await openWithCookie(leaving);
    const byTicket = await openLive({ token: await ticketFrom({ cookie: leaving }) });
    const other = await openWithCookie(staying);

    expect((await call("POST", "/v1/auth/logout", { headers: asBrowser(leaving) })).status).toBe(204);
    expect(await closedWith(byCookie)).toBe(4003);
    expect(await closedWith(byTicket)).toBe(4003);
    // The member's other session, still signed in, keeps streaming.
    expect(await stillStreams(ws, other)).toBe(true);
  });

  it("closes the sockets of an API key, opened with it or a ticket it minted, when it is revoked", async () => {
    const ws = await newWorkspace();
    const agent = await keyForRole(ws, "manager");
    const byKey = await openLive({ key: agent.key });
    const byTicket = await openLive({ token: await ticketFrom({ key: agent.key }) });
    const owner = await openLive({ key: ws.key });
    const keys = (await call("GET", "/v1/api-keys", { key: ws.key })).body.data as { id: string; memberId: string }[];
    const keyId = keys.find((k) => k.memberId === agent.member.id)?.id;

    expect((await call("DELETE", `/v1/api-keys/${keyId}`, { key: ws.key })).status).toBe(204);
    expect(await closedWith(byKey)).toBe(4003);
    expect(await closedWith(byTicket)).toBe(4003);
    expect(await stillStreams(ws, owner)).toBe(true);
  });

  it("closes a session's socket at its next sweep once the session has expired", async () => {
    const ws = await newWorkspace();
    const cookie = await signIn(ws, `owner@${ws.slug}.test`);
    const expired = await expireSoon(ws, "sessions", ws.ownerId);
    const socket = await openWithCookie(cookie);
    await expired();
    expect(await runDurableObjectAlarm(env.WORKSPACE.getByName(ws.id))).toBe(true);
    expect(await closedWith(socket)).toBe(4003);
  });

  it("closes an API key's socket, and one opened with a ticket it minted, at the next sweep once the key has expired", async () => {
    const ws = await newWorkspace();
    const agent = await keyForRole(ws, "manager");
    const ticket = await ticketFrom({ key: agent.key });
    const expired = await expireSoon(ws, "api_keys", agent.member.id);
    const byKey = await openLive({ key: agent.key });
    const byTicket = await openLive({ token: ticket });
    const owner = await openLive({ key: ws.key });
    await expired();
    expect(await runDurableObjectAlarm(env.WORKSPACE.getByName(ws.id))).toBe(true);
    expect(await closedWith(byKey)).toBe(4003);
    expect(await closedWith(byTicket)).toBe(4003);
    expect(await stillStreams(ws, owner)).toBe(true);
  });

  it("refuses a ticket whose session has logged out since it was minted", async () => {
    const ws = await newWorkspace();
    const cookie = await signIn(ws, `owner@${ws.slug}.test`);
    const ticket = await ticketFrom({ cookie });
    expect((await call("POST", "/v1/auth/logout", { headers: asBrowser(cookie) })).status).toBe(204);
    expect((await connectLive({ token: ticket })).refused?.status).toBe(403);
  });
});
