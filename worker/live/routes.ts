import { eq } from "drizzle-orm";
import type { Context } from "hono";
import * as v from "valibot";
import { watcherNow } from "../../durable-objects/watcher";
import { type LiveTicket, WATCHER_HEADER } from "../../durable-objects/workspace-live";
import { type AppEnv, router } from "../app";
import { authenticate } from "../auth/authenticate";
import { route } from "../auth/route";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { query } from "../lib/validate";
import { workspaces } from "../platform/table";
import { fromAnotherOrigin, readSessionCookie } from "../sessions/cookie";
import { TOKEN_PREFIX } from "../sessions/tokens";
import { useShard } from "../shards/context";
import { shardOf } from "../shards/directory";
import { routedToken, workspaceOfToken } from "../shards/tokens";
import { forbidden, mayWatch, watcherOf } from "./access";
import { CLOSE, LiveMessage, OUT_OF_REACH } from "./protocol";

const tags = ["Live"];
const TICKET_TTL_MS = 60_000;

/**
 * Tickets read `lt_<workspace ULID>.<secret>` (worker/shards/tokens.ts): the workspace says
 * which object keeps the ticket's hash. A ticket minted before tokens carried their
 * workspace read `<workspace id>.lt_<secret>`, its secret's hash kept (they last 60 s).
 */
async function redeem(c: Context<AppEnv>, ticket: string) {
  const routed = workspaceOfToken(ticket);
  const [legacyWorkspace, legacySecret] = ticket.split(".");
  const workspaceId = routed ?? legacyWorkspace;
  const hashed = routed ? ticket : legacySecret;
  if (!workspaceId || !hashed || workspaceId.length > 64) throw invalidTicket();
  // Only a real workspace's object is woken: forged tickets must not create objects.
  const shard = await shardOf(c.env, workspaceId);
  if (!shard) throw invalidTicket();
  useShard(c, shard);
  const [workspace] = await c.var.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (!workspace) throw invalidTicket();
  const kept = await c.env.WORKSPACE.getByName(workspaceId).redeemTicket(await sha256Hex(hashed));
  if (!kept) throw invalidTicket();
  const { expiresAt: _, ...watcher } = kept;
  const access = await watcherNow(c.var.db.$client, workspaceId, watcher);
  if (access === null) throw forbidden();
  return { workspaceId, watcher: { ...watcher, role: access.role } };
}

const LiveQuery = v.strictObject({
  after: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,15}$/, "A seq: replay the events after it."),
      v.description("Resume after this seq"),
    ),
  ),
  token: v.optional(v.pipe(v.string(), v.maxLength(200), v.description("A ticket from POST /v1/live/tickets"))),
});

const invalidTicket = () => new ApiError(401, "invalid_ticket", "The ticket is unknown, used or expired.");

export const live = router()
  .post(
    "/tickets",
    route({
      summary: "A single-use ticket (60 s) for opening the live stream from a browser",
      description:
        "The socket it opens ends with the credential that minted it: logging out of the session, or revoking the key.",
      tags,
      auth: "members:read",
      responses: {
        201: {
          description: "Pass it as ?token= to GET /v1/live",
          schema: v.object({ ticket: v.string(), expiresAt: v.string() }),
        },
      },
    }),
    async (c) => {
      const caller = c.var.caller;
      mayWatch(caller);
      const token = routedToken(TOKEN_PREFIX.liveTicket, caller.workspaceId);
      const expiresAt = Date.now() + TICKET_TTL_MS;
      const ticket: LiveTicket = { ...watcherOf(caller), expiresAt };
      await c.env.WORKSPACE.getByName(caller.workspaceId).storeTicket(await sha256Hex(token), ticket);
      return c.json({ ticket: token, expiresAt: new Date(expiresAt).toISOString() }, 201);
    },
  )
  .get(
    "/",
    route({
      summary: "Upgrade to the workspace's live event stream (WebSocket; ?after=<seq> resumes)",
      tags,
      auth: "public",
      responses: {
        101: {
          // The frames after the upgrade, documented where OpenAPI has room: it has no words for a socket's messages.
          schema: LiveMessage,
          description: [
            "Switches to a WebSocket; each frame the server then sends is one LiveMessage (JSON).",
            "Replays events after `after`, sends ready, then live events.",
            "Each family of events goes only to holders of its read scope (the role's, narrowed by the key's):",
            "`member.*`, `message.*` and `session.*` members:read, `label.*` labels:read, `role.*` roles:read,",
            "`invitation.*` invitations:read, `join_request.*` join_requests:read, `action.*` automations:read,",
            "`workspace.*` workspace:read, `settings.*` workspace:admin, `api_key.*` workspace:admin or the key's",
            "own member, `credential_change.*` members:admin; the seqs withheld are gaps in its stream, not a loss.",
            `The socket closes with ${CLOSE.accessRevoked} when its member is archived or loses members:read, and when the`,
            "credential it was opened with (directly or through a ticket) ends: logout, session expiry, key",
            "revocation, key expiry (seen by a sweep every 5 s).",
            "Past LIVE_MAX_SOCKETS open sockets in the workspace (2,000 unless set) the upgrade is closed at once",
            `with ${CLOSE.tryAgainLater} (try again later).`,
            "Without members:admin, none about anonymous, merged or expired members, but a merge or its undo into",
            "a member it reaches without `member`. Under a role condition, only events whose members the condition",
            "reaches; an event that took a member out of reach comes as",
            `\`{"seq", "type": "${OUT_OF_REACH}", "at", "data": {"member": {"id"}}}\` (its own seq, the id only).`,
          ].join(" "),
        },
        400: { description: "`websocket_required`: not a WebSocket upgrade" },
        401: { description: "`unauthorized`: no valid API key or session; `invalid_ticket`: unknown, used or expired" },
        403: {
          description:
            "`forbidden`: not a team member with members:read; `csrf_rejected`: a session's upgrade from a page of another site",
        },
      },
    }),
    query(LiveQuery),
    async (c) => {
      if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError(400, "websocket_required", "Open this URL as a WebSocket.");
      }
      const ticket = c.req.valid("query").token;
      const { workspaceId, watcher } = ticket ? await redeem(c, ticket) : await fromCredential(c);
      const headers = new Headers(c.req.raw.headers);
      headers.set(WATCHER_HEADER, JSON.stringify(watcher));
      const upgraded = await c.env.WORKSPACE.getByName(workspaceId).fetch(new Request(c.req.url, { headers }));
      // A fresh Response: the object's has immutable headers, and middleware adds some.
      return new Response(null, { status: upgraded.status, webSocket: upgraded.webSocket, headers: upgraded.headers });
    },
  );

async function fromCredential(c: Context<AppEnv>) {
  // A page of another site (even a sibling subdomain, to which SameSite=Lax still sends
  // the cookie) must not open the stream with the visitor's session.
  if (c.req.header("Authorization") === undefined && readSessionCookie(c) !== undefined && fromAnotherOrigin(c)) {
    throw new ApiError(403, "csrf_rejected", "Open the live stream from this site, or with an API key or ticket.");
  }
  const caller = await authenticate(c);
  mayWatch(caller);
  const watcher = watcherOf(caller);
  const access = await watcherNow(c.var.db.$client, caller.workspaceId, watcher);
  if (access === null) throw forbidden();
  return { workspaceId: caller.workspaceId, watcher: { ...watcher, role: access.role } };
}
