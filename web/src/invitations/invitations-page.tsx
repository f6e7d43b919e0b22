import { useEffect, useRef, useState } from "preact/hooks";
import { knownEvent, outOfReachIds } from "../../../worker/live/protocol";
import type { Directory } from "../app/admin";
import { api, errorMessage, type Invitation, type JoinRequest, ok } from "../app/api";
import type { LiveConnection } from "../live/connection";
import { useFlash } from "../members/use-flash";

const date = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });

/** Replaces, adds (newest first) or removes one item by id. */
function upsert<T extends { id: string }>(list: T[], item: T, keep: boolean): T[] {
  const rest = list.filter((x) => x.id !== item.id);
  if (!keep) return rest;
  return list.some((x) => x.id === item.id) ? list.map((x) => (x.id === item.id ? item : x)) : [item, ...rest];
}

/** `list` with the items of a further page that it does not hold yet (live events may have brought some). */
const withPage = <T extends { id: string }>(list: T[] | null, page: T[]) => [
  ...(list ?? []),
  ...page.filter((item) => !list?.some((x) => x.id === item.id)),
];

/** A page of pending invitations, or of pending join requests, from `cursor`. */
const invitationsPage = (cursor?: string) =>
  ok(api.GET("/v1/invitations", { params: { query: { status: "pending", limit: 100, cursor } } }));
const requestsPage = (cursor?: string) =>
  ok(api.GET("/v1/join-requests", { params: { query: { status: "pending", limit: 100, cursor } } }));

/** Settings -> Invitations: pending invitations and join requests, live. */
export function InvitationsPage({ live, directory }: { live: LiveConnection; directory: Directory }) {
  const [invitations, setInvitations] = useState<Invitation[] | null>(null);
  const [requests, setRequests] = useState<JoinRequest[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  const [roles, setRoles] = useState<Record<string, string>>({});
  // Where the next page of each list starts (null: none left).
  const [more, setMore] = useState<{ invitations: string | null; requests: string | null }>({
    invitations: null,
    requests: null,
  });
  const flash = useFlash();
  // Bumped when the members our role reaches change, to load both lists afresh.
  const [generation, setGeneration] = useState(0);
  const currentGeneration = useRef(generation);
  currentGeneration.current = generation;
  useEffect(() => live.onReachChanged(() => setGeneration((g) => g + 1)), [live]);

  useEffect(() => {
    Promise.all([invitationsPage(), requestsPage()])
      .then(([inv, req]) => {
        setInvitations(inv.data);
        setRequests(req.data);
        setMore({ invitations: inv.nextCursor, requests: req.nextCursor });
      })
      .catch((error: unknown) => setFailure(errorMessage(error)));
  }, [generation]);

  useEffect(
    () =>
      live.onEvent((event) => {
        // A member out of our role condition's reach now: their invitations go too.
        const gone = outOfReachIds(event);
        if (gone.length > 0) setInvitations((list) => list?.filter((i) => !gone.includes(i.memberId)) ?? list);
        const known = knownEvent(event);
        if (known?.type.startsWith("invitation.") && "invitation" in known.data) {
          const invitation = known.data.invitation;
          setInvitations((list) => (list ? upsert(list, invitation, invitation.status === "pending") : list));
          flash.flash(invitation.id);
        }
        if (known?.type.startsWith("join_request.") && "joinRequest" in known.data) {
          const request = known.data.joinRequest;
          setRequests((list) => (list ? upsert(list, request, request.status === "pending") : list));
          flash.flash(request.id);
          if (event.type === "join_request.created") setNotice(`New join request from ${request.name}.`);
        }
      }),
    [live, flash.flash],
  );

  async function decide(request: JoinRequest, decision: "approve" | "deny") {
    setNotice("");
    try {
      if (decision === "approve") {
        const role = roles[request.id] ?? "user";
        await ok(api.POST("/v1/join-requests/{id}/approve", { params: { path: { id: request.id } }, body: { role } }));
        setNotice(`Approved ${request.name}: an invitation is on its way to ${request.email}.`);
      } else {
        await ok(api.POST("/v1/join-requests/{id}/deny", { params: { path: { id: request.id } } }));
        setNotice(`Denied the request from ${request.name}.`);
      }
      setRequests((list) => list?.filter((r) => r.id !== request.id) ?? list);
    } catch (error) {
      setNotice(errorMessage(error));
    }
  }

  /** Appends the page at `cursor` to one of the two lists. */
  async function loadMore<T extends { id: string }>(
    list: keyof typeof more,
    pageAt: (cursor: string) => Promise<{ data: T[]; nextCursor: string | null }>,
    cursor: string,
    setList: (update: (items: T[] | null) => T[]) => void,
  ) {
    const asked = generation;
    try {
      const page = await pageAt(cursor);
      // The lists were loaded afresh meanwhile: this page belongs to the old ones.
      if (currentGeneration.current !== asked) return;
      setList((items) => withPage(items, page.data));
      setMore((m) => ({ ...m, [list]: page.nextCursor }));
    } catch (error) {
      setNotice(errorMessage(error));
    }
  }

  async function invitationAction(invitation: Invitation, action: "resend" | "revoke") {
    setNotice("");
    try {
      const path = { id: invitation.id };
      await ok(
        action === "resend"
          ? api.POST("/v1/invitations/{id}/resend", { params: { path } })
          : api.POST("/v1/invitations/{id}/revoke", { params: { path } }),
      );
      setNotice(action === "resend" ? `Invitation resent to ${invitation.email}.` : `Invitation revoked.`);
    } catch (error) {
      setNotice(errorMessage(error));
    }
  }

  return (
    <section aria-labelledby="invitations-title">
      <h1 id="invitations-title" tabIndex={-1}>
        Invitations
      </h1>
      <output class="notice" aria-live="polite">
        {notice}
      </output>
      {failure ? (
        <p class="form-error" role="alert">
          {failure}
        </p>
      ) : null}

      <section aria-labelledby="requests-title">
        <h2 id="requests-title">Join requests</h2>
        {directory.workspace.allowJoinRequests ? (
          <p class="hint">
            People ask to join on your public page:{" "}
            <a href={`/join/${directory.workspace.slug}`}>/join/{directory.workspace.slug}</a>
          </p>
        ) : (
          <p class="hint">This workspace does not take join requests.</p>
        )}
        {requests === null ? <p>Loading…</p> : null}
        {requests?.length === 0 ? <p class="empty">No pending join requests.</p> : null}
        <ul class="cards" aria-label="Pending join requests">
          {requests?.map((request) => (
            <li
              key={request.id}
              class="card"
              data-join-request-id={request.id}
              ref={(el) => flash.register(request.id, el)}
            >
              <div>
                <strong>{request.name}</strong> <span class="subtle">{request.email}</span>
                {request.phone ? <span class="subtle"> · {request.phone}</span> : null}
                {request.message ? <p class="message">“{request.message}”</p> : null}
                <p class="subtle">Asked {date(request.createdAt)}</p>
              </div>
              <div class="card-actions">
                <label>
                  Role for {request.name}
                  <select
                    value={roles[request.id] ?? "user"}
                    onInput={(e) => setRoles((r) => ({ ...r, [request.id]: (e.target as HTMLSelectElement).value }))}
                  >
                    {directory.roles.map((r) => (
                      <option key={r.key} value={r.key}>
                        {r.name}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" onClick={() => decide(request, "approve")}>
                  Approve {request.name}
                </button>
                <button type="button" class="secondary" onClick={() => decide(request, "deny")}>
                  Deny {request.name}
                </button>
              </div>
            </li>
          ))}
        </ul>
        {more.requests ? (
          <button
            type="button"
            class="secondary"
            onClick={() => more.requests && loadMore("requests", requestsPage, more.requests, setRequests)}
          >
            More join requests
          </button>
        ) : null}
      </section>

      <section aria-labelledby="pending-title">
        <h2 id="pending-title">Pending invitations</h2>
        {invitations === null ? <p>Loading…</p> : null}
        {invitations?.length === 0 ? <p class="empty">No pending invitations.</p> : null}
        {invitations && invitations.length > 0 ? (
          <table>
            <caption class="visually-hidden">Pending invitations</caption>
            <thead>
              <tr>
                <th scope="col">Sent to</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invitations.map((invitation) => (
                <tr
                  key={invitation.id}
                  data-invitation-id={invitation.id}
                  ref={(el) => flash.register(invitation.id, el)}
                >
                  <th scope="row">{invitation.email ?? invitation.phone}</th>
                  <td>{invitation.role}</td>
                  <td>{date(invitation.expiresAt)}</td>
                  <td class="row-actions">
                    <button type="button" class="secondary" onClick={() => invitationAction(invitation, "resend")}>
                      Resend<span class="visually-hidden"> to {invitation.email ?? invitation.phone}</span>
                    </button>
                    <button type="button" class="secondary" onClick={() => invitationAction(invitation, "revoke")}>
                      Revoke<span class="visually-hidden"> for {invitation.email ?? invitation.phone}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {more.invitations ? (
          <button
            type="button"
            class="secondary"
            onClick={() =>
              more.invitations && loadMore("invitations", invitationsPage, more.invitations, setInvitations)
            }
          >
            More invitations
          </button>
        ) : null}
      </section>
    </section>
  );
}
