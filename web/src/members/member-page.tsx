import { Fragment } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { knownEvent } from "../../../worker/live/protocol";
import type { Directory } from "../app/admin";
import { type Answer, ApiError, allPages, api, errorMessage, type Invitation, type Member, ok } from "../app/api";
import { navigate } from "../app/router";
import { memberOf, useEventLog } from "../audit/event-log";
import { EventLogView } from "../audit/event-table";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";
import { Link } from "../ui/link";
import { useMemberActions } from "./member-actions";
import { ActionMenu, LabelChips } from "./member-row";

type Message = Answer<"listMemberMessages">["data"][number];
type CredentialChange = Answer<"listMemberCredentialChanges">["data"][number];

const when = (at: string) => new Date(at).toLocaleString();

/**
 * The member, their conversation, and the invitations and credential changes still open,
 * kept live: the member's events (as committed) and their new texts and calls are applied
 * once a frame; an invitation or credential change event about them reads those again.
 */
function useMemberRecord(live: LiveConnection, id: string) {
  const [member, setMember] = useState<Member | null>(null);
  const [messages, setMessages] = useState<readonly Message[]>([]);
  const [invitations, setInvitations] = useState<readonly Invitation[]>([]);
  const [changes, setChanges] = useState<readonly CredentialChange[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const readOpen = useCallback(async () => {
    const invited = await ok(api.GET("/v1/invitations", { params: { query: { memberId: id, limit: 100 } } }));
    setInvitations(invited.data.filter((i) => i.status === "pending"));
    // Credential changes need members:admin: without it the section is not shown.
    const started = await ok(
      api.GET("/v1/members/{id}/credential-changes", { params: { path: { id }, query: { limit: 100 } } }),
    ).catch((error: unknown) => (error instanceof ApiError && error.status === 403 ? null : Promise.reject(error)));
    setChanges(started ? started.data.filter((c) => c.status === "pending") : null);
  }, [id]);

  useEffect(() => {
    setMember(null);
    setFailure(null);
    const path = { id };
    Promise.all([
      ok(api.GET("/v1/members/{id}", { params: { path } })),
      allPages((cursor) =>
        ok(api.GET("/v1/members/{id}/messages", { params: { path, query: { limit: 100, cursor } } })),
      ),
      readOpen(),
    ])
      .then(([found, conversation]) => {
        setMember(found);
        setMessages(conversation);
      })
      .catch((error: unknown) =>
        setFailure(error instanceof ApiError && error.status === 404 ? "No such member." : errorMessage(error)),
      );
  }, [id, readOpen]);

  const pending = useRef({ member: null as Member | null, messages: new Map<string, Message>(), open: false });
  const frame = useMemo(
    () =>
      frameScheduler(() => {
        const { member: latest, messages: arrived, open } = pending.current;
        pending.current = { member: null, messages: new Map(), open: false };
        if (latest) setMember(latest);
        if (arrived.size > 0)
          setMessages((shown) => [
            ...shown.filter((m) => !arrived.has(m.id)),
            ...[...arrived.values()].sort((a, b) => (a.at < b.at ? -1 : 1)),
          ]);
        if (open) void readOpen().catch(() => {});
      }),
    [readOpen],
  );

  useEffect(() => {
    const stop = live.onEvent((event) => {
      if (memberOf(event)?.id !== id) return;
      const known = knownEvent(event);
      if (!known) return;
      if (known.type.startsWith("message.") && "message" in known.data)
        pending.current.messages.set(known.data.message.id, known.data.message as Message);
      if (known.type.startsWith("invitation.") || known.type.startsWith("credential_change."))
        pending.current.open = true;
      if ("member" in known.data && known.data.member && "status" in known.data.member)
        pending.current.member = known.data.member as Member;
      frame.request();
    });
    return () => {
      stop();
      frame.cancel();
    };
  }, [live, id, frame]);

  return { member, setMember, messages, invitations, changes, failure };
}

/** A member's page (`/members/{id}`): profile, conversation, activity, what is pending, and the row menu's actions. */
export function MemberPage(props: { live: LiveConnection; directory: Directory; id: string }) {
  const { live, directory, id } = props;
  const record = useMemberRecord(live, id);
  const { member } = record;
  const [notice, setNotice] = useState("");
  const filters = useMemo(() => ({ type: "", member: id, actor: "" }), [id]);
  const log = useEventLog(live, filters);
  const actions = useMemberActions({
    directory,
    onNotice: setNotice,
    applied: record.setMember,
    resolved: (_, target) => navigate(`/members/${target.id}`),
  });

  if (record.failure) {
    return (
      <section aria-labelledby="member-title">
        <h1 id="member-title" tabIndex={-1}>
          Member
        </h1>
        <p role="alert">{record.failure}</p>
        <Link href="/members">Back to Members</Link>
      </section>
    );
  }
  if (!member) return <p role="status">Loading…</p>;
  const role = directory.roles.find((r) => r.key === member.role);
  const attributes = Object.entries(member.attributes ?? {});
  return (
    <section aria-labelledby="member-title" class="member-page">
      <p class="crumbs">
        <Link href="/members">Members</Link>
      </p>
      <div class="page-head">
        <h1 id="member-title" tabIndex={-1}>
          {member.name}
        </h1>
        <div class="actions">
          <ActionMenu member={member} onAction={actions.act} />
        </div>
      </div>
      <output class="notice" aria-live="polite">
        {notice}
      </output>

      <section aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        <dl class="profile">
          <dt>Status</dt>
          <dd data-field="status">{member.status}</dd>
          <dt>Email</dt>
          <dd data-field="email">{member.email ?? "—"}</dd>
          <dt>Phone</dt>
          <dd data-field="phone">{member.phone ?? "—"}</dd>
          <dt>External ID</dt>
          <dd data-field="externalId">{member.externalId ?? "—"}</dd>
          <dt>Role</dt>
          <dd data-field="role">{role ? `${role.name} (${member.role})` : member.role}</dd>
          <dt>Type</dt>
          <dd data-field="type">{member.type === "team" ? "Team" : "Customer"}</dd>
          <dt>Labels</dt>
          <dd data-field="labels">{member.labels.length > 0 ? <LabelChips member={member} /> : "—"}</dd>
          {attributes.map(([key, value]) => (
            <Fragment key={key}>
              <dt>
                <code>{key}</code>
              </dt>
              <dd data-attribute={key}>{String(value)}</dd>
            </Fragment>
          ))}
          <dt>Added</dt>
          <dd>{when(member.createdAt)}</dd>
        </dl>
      </section>

      {record.invitations.length > 0 || (record.changes?.length ?? 0) > 0 ? (
        <section aria-labelledby="pending-title">
          <h2 id="pending-title">Pending</h2>
          <ul class="pending">
            {record.invitations.map((i) => (
              <li key={i.id} data-invitation={i.id}>
                Invitation to {i.email ?? i.phone} as {i.role}, sent {when(i.sentAt)}, expires {when(i.expiresAt)}
              </li>
            ))}
            {(record.changes ?? []).map((c) => (
              <li key={c.id} data-credential-change={c.id}>
                {c.kind === "email" ? "Email" : "Phone"} change to {c.newValue}, confirmation sent by{" "}
                {c.sentTo === "email" ? "email" : "SMS"}, expires {when(c.expiresAt)}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="conversation-title">
        <h2 id="conversation-title">Conversation</h2>
        {record.messages.length === 0 ? (
          <p class="empty">No texts or calls yet.</p>
        ) : (
          <ol class="conversation" aria-label={`Texts and calls with ${member.name}, oldest first`}>
            {record.messages.map((m) => (
              <li key={m.id} class={m.direction} data-message={m.id}>
                <span class="subtle">
                  {m.channel === "voice" ? "Call" : "Text"} {m.direction === "inbound" ? "from" : "to"} {m.from} ·{" "}
                  <time dateTime={m.at}>{when(m.at)}</time>
                </span>
                <p>
                  {m.channel === "voice"
                    ? `${m.callStatus ?? "call"}${m.callDuration ? `, ${m.callDuration} s` : ""}`
                    : m.body}
                </p>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section aria-labelledby="activity-title">
        <h2 id="activity-title" tabIndex={-1}>
          Activity
        </h2>
        <p>
          <Link href={`/audit?member=${encodeURIComponent(id)}`}>Open in the audit log</Link>
        </p>
        <EventLogView log={log} caption={`Activity of ${member.name}, newest first`} titleId="activity-title" />
      </section>
      {actions.dialogs}
    </section>
  );
}
