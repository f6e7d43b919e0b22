import type { LiveEvent } from "../../../worker/live/protocol";
import { Link } from "../ui/link";
import { memberOf, type useEventLog } from "./event-log";

/**
 * Who did it, as the event's `actor` names them: a member (and the API key used), or what
 * acted. A member's own sign-in names them only by id: the event's member is that member.
 */
export function actorText(event: LiveEvent): string {
  const { actor } = event;
  switch (actor.type) {
    case "member": {
      const about = memberOf(event);
      const name = actor.name ?? (about && about.id === actor.id ? about.name : undefined);
      return `${name ?? actor.id ?? "A member"}${actor.key ? ` (API key ${actor.key.name ?? actor.key.id})` : ""}`;
    }
    case "platform":
      return "Platform";
    case "public":
      return actor.name ? `${actor.name} (public link)` : "Visitor (public link)";
    case "provider":
      return `Provider${actor.name ? ` ${actor.name}` : ""}`;
    case "import":
      return `Import${actor.by ? ` by ${actor.by.name ?? actor.by.id}` : ""}`;
    case "action":
      return `Action ${actor.name ?? actor.id ?? ""}`.trim();
    default:
      return "System";
  }
}

/** What an event that is about no member names: a label, role, action, key, join request... */
function subjectOf(event: LiveEvent): string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  for (const key of ["label", "role", "action", "apiKey", "joinRequest", "invitation"]) {
    const value = data[key] as Record<string, unknown> | undefined;
    if (value && typeof value === "object") {
      const name = value.name ?? value.email ?? value.slug ?? value.key ?? value.id;
      if (typeof name === "string") return name;
    }
  }
  for (const key of ["name", "slug", "key"]) if (typeof data[key] === "string") return data[key] as string;
  return "—";
}

const when = (at: string) => new Date(at).toLocaleString();

/** Events newest first: when, type, who did it and what it is about (a member links to their page). */
export function EventTable(props: { rows: readonly LiveEvent[]; caption: string; busy: boolean }) {
  return (
    <table class="events" aria-busy={props.busy}>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Event</th>
          <th scope="col">Who</th>
          <th scope="col">About</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((event) => {
          const member = memberOf(event);
          return (
            <tr key={event.seq} data-seq={event.seq} data-type={event.type}>
              <td>
                <time dateTime={event.at}>{when(event.at)}</time>
              </td>
              <th scope="row">
                <code>{event.type}</code>
              </th>
              <td>{actorText(event)}</td>
              <td>
                {member ? <Link href={`/members/${member.id}`}>{member.name ?? member.id}</Link> : subjectOf(event)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/**
 * A live event log as a screen shows it: "N new events: show" (focus then goes to the
 * heading `titleId`), the table, and "Load older" while older events remain.
 */
export function EventLogView(props: { log: ReturnType<typeof useEventLog>; caption: string; titleId: string }) {
  const { log } = props;
  return (
    <>
      {log.failure ? (
        <p class="form-error" role="alert">
          {log.failure}
        </p>
      ) : null}
      {log.fresh > 0 ? (
        <button
          type="button"
          class="secondary announcement"
          onClick={() => {
            log.showNewest();
            document.getElementById(props.titleId)?.focus();
          }}
        >
          {log.fresh.toLocaleString()} new {log.fresh === 1 ? "event" : "events"}: show
        </button>
      ) : null}
      <EventTable rows={log.rows} caption={props.caption} busy={log.loading} />
      {!log.loading && log.rows.length === 0 && !log.failure ? <p class="empty">No events match.</p> : null}
      <div class="pager">
        {log.more ? (
          <button type="button" class="secondary" disabled={log.loading} onClick={log.loadOlder}>
            {log.loading ? "Loading…" : "Load older"}
          </button>
        ) : null}
      </div>
    </>
  );
}
