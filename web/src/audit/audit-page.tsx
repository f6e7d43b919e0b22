import { useState } from "preact/hooks";
import { EVENT_TYPES } from "../../../worker/events/registry";
import { ACTOR_TYPES } from "../../../worker/events/schema";
import type { LiveConnection } from "../live/connection";
import { type LogFilters, useEventLog } from "./event-log";
import { EventLogView } from "./event-table";

const FAMILIES = [...new Set(EVENT_TYPES.map((type) => type.split(".", 1)[0] ?? type))].sort();

/** The filters a link gave (`/audit?member=mem_…`), so the log is deep-linkable. */
function filtersOfUrl(): LogFilters {
  const query = new URLSearchParams(location.search);
  return { type: query.get("type") ?? "", member: query.get("member") ?? "", actor: query.get("actor") ?? "" };
}

function keepInUrl(filters: LogFilters) {
  const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ""));
  const search = query.size > 0 ? `?${query}` : "";
  history.replaceState(null, "", `${location.pathname}${search}`);
}

/** Audit log: the workspace's events, newest first, filtered by type, member and actor; live. */
export function AuditPage({ live }: { live: LiveConnection }) {
  const [filters, setFilters] = useState<LogFilters>(filtersOfUrl);
  const [actorType, actorId] = splitActor(filters.actor);
  const log = useEventLog(live, filters);
  const set = (patch: Partial<LogFilters>) =>
    setFilters((f) => {
      const next = { ...f, ...patch };
      keepInUrl(next);
      return next;
    });

  return (
    <section aria-labelledby="audit-title">
      <div class="page-head">
        <h1 id="audit-title" tabIndex={-1}>
          Audit log
        </h1>
      </div>
      <search class="filters" aria-label="Filter events">
        <div>
          <label for="audit-type">Event type</label>
          <select
            id="audit-type"
            value={filters.type}
            onInput={(e) => set({ type: (e.target as HTMLSelectElement).value })}
          >
            <option value="">All events</option>
            {FAMILIES.map((family) => (
              <optgroup key={family} label={family}>
                <option value={`${family}.*`}>All {family} events</option>
                {EVENT_TYPES.filter((type) => type.startsWith(`${family}.`)).map((type) => (
                  <option key={type} value={type}>
                    {type}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </div>
        <div>
          <label for="audit-member">Member ID</label>
          <input
            id="audit-member"
            value={filters.member}
            placeholder="mem_…"
            onChange={(e) => set({ member: (e.target as HTMLInputElement).value.trim() })}
          />
        </div>
        <div>
          <label for="audit-actor">Done by</label>
          <select
            id="audit-actor"
            value={actorType}
            onInput={(e) => set({ actor: (e.target as HTMLSelectElement).value })}
          >
            <option value="">Anyone</option>
            {ACTOR_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </div>
        {actorType ? (
          <div>
            <label for="audit-actor-id">Actor ID</label>
            <input
              id="audit-actor-id"
              value={actorId}
              placeholder="Any"
              onChange={(e) => {
                const id = (e.target as HTMLInputElement).value.trim();
                set({ actor: id ? `${actorType}:${id}` : actorType });
              }}
            />
          </div>
        ) : null}
      </search>
      <output class="notice" aria-live="polite">
        {log.notice}
      </output>
      <EventLogView log={log} caption="Events, newest first" titleId="audit-title" />
    </section>
  );
}

function splitActor(actor: string): [string, string] {
  const at = actor.indexOf(":");
  return at < 0 ? [actor, ""] : [actor.slice(0, at), actor.slice(at + 1)];
}
