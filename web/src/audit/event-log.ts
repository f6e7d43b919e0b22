import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { LiveEvent } from "../../../worker/live/protocol";
import { api, errorMessage, ok } from "../app/api";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";

/** The log's filters as GET /v1/events takes them; "" is no filter. */
export type LogFilters = { type: string; member: string; actor: string };

/** Seqs the first read looks back over; each read that finds too few looks back twice as far. */
const FIRST_WINDOW = 100;
/** Events a "Load older" aims for before it stops reading. */
const ENOUGH = 50;
/**
 * New events that join the top of the list as they come, after a read: beyond it (or a
 * frame bringing more at once) they are only counted and announced ("N new events: show").
 */
const ROOM = 50;

/** The member an event is about: `data.member` (member, message, invitation, key events), a credential change's member, else none. */
export function memberOf(event: LiveEvent): { id: string; name?: string } | null {
  const data = event.data as {
    member?: { id?: unknown; name?: unknown };
    credentialChange?: { memberId?: unknown };
  } | null;
  if (!data || typeof data !== "object") return null;
  const member = data.member;
  if (member && typeof member.id === "string")
    return { id: member.id, name: typeof member.name === "string" ? member.name : undefined };
  const changed = data.credentialChange?.memberId;
  return typeof changed === "string" ? { id: changed } : null;
}

/** Whether a live event passes the filters as the API applies them (type or family, member, actor type or type:id). */
export function passes(event: LiveEvent, filters: LogFilters): boolean {
  const { type, member, actor } = filters;
  if (type && (type.endsWith(".*") ? !event.type.startsWith(type.slice(0, -1)) : event.type !== type)) return false;
  if (member && memberOf(event)?.id !== member) return false;
  if (actor) {
    const at = actor.indexOf(":");
    const [kind, id] = at < 0 ? [actor, null] : [actor.slice(0, at), actor.slice(at + 1)];
    if (event.actor.type !== kind || (id !== null && event.actor.id !== id)) return false;
  }
  return true;
}

/**
 * The events with seq in (from, to] that pass the filters, oldest first. GET /v1/events
 * pages forward from `after` and a page may be short (even empty) with a nextCursor: read
 * on until the range is covered or the log ends.
 */
async function readRange(from: number, to: number, filters: LogFilters): Promise<LiveEvent[]> {
  const found: LiveEvent[] = [];
  let after = from;
  while (after < to) {
    const page = await ok(
      api.GET("/v1/events", {
        params: {
          query: {
            after: String(after),
            limit: 100,
            type: filters.type || undefined,
            member: filters.member || undefined,
            actor: filters.actor || undefined,
          },
        },
      }),
    );
    for (const event of page.data as LiveEvent[]) if (event.seq <= to) found.push(event);
    const next = page.nextCursor === null ? null : Number(page.nextCursor);
    if (next === null || next >= to || next <= after) break;
    after = next;
  }
  return found;
}

/**
 * The event log newest first, for the Audit log and a member's timeline. The API pages the
 * log oldest first, so the view reads it backwards in windows of seqs below the stream's
 * head (each window that finds too few events doubles the next, so a narrow filter still
 * reaches the log's start in a few reads). Events after the head arrive on the live stream:
 * they are kept once a frame; a few join the top at once, a burst (an import) is only
 * counted in `fresh` ("N new events: show", which reads the newest afresh).
 */
export function useEventLog(live: LiveConnection, filters: LogFilters) {
  const [rows, setRows] = useState<readonly LiveEvent[]>([]);
  const [older, setOlder] = useState(0);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  const [fresh, setFresh] = useState(0);
  const [notice, setNotice] = useState("");
  // The seq the loaded rows end at (events after it are the stream's); null until a head is known.
  const head = useRef<number | null>(null);
  const next = useRef({ below: 0, window: FIRST_WINDOW });
  const batch = useRef<LiveEvent[]>([]);
  const freshCount = useRef(0);
  const joined = useRef(0);
  const current = useRef(filters);
  current.current = filters;
  const loadId = useRef(0);

  const readOlder = useCallback(async (id: number) => {
    setLoading(true);
    setFailure(null);
    try {
      const found: LiveEvent[] = [];
      let { below, window } = next.current;
      while (below > 0 && found.length < ENOUGH) {
        const from = Math.max(0, below - window);
        const events = await readRange(from, below, current.current);
        if (id !== loadId.current) return;
        found.push(...events.reverse());
        below = from;
        window = events.length < ENOUGH ? window * 2 : window;
      }
      next.current = { below, window };
      setOlder(below);
      setRows((shown) => [...shown, ...found]);
    } catch (error) {
      if (id === loadId.current) setFailure(errorMessage(error));
    } finally {
      if (id === loadId.current) setLoading(false);
    }
  }, []);

  const reload = useCallback(() => {
    const id = ++loadId.current;
    head.current = live.head;
    batch.current = [];
    freshCount.current = 0;
    joined.current = 0;
    setFresh(0);
    setRows([]);
    if (head.current === null) return; // Read once the stream is ready and its head known.
    next.current = { below: head.current, window: FIRST_WINDOW };
    void readOlder(id);
  }, [live, readOlder]);

  // Filters changed: the log afresh.
  const { type, member, actor } = filters;
  useEffect(() => reload(), [type, member, actor, reload]);

  // The first read waits for the stream's head; a change of reach reads afresh.
  useEffect(() => {
    const stopState = live.onState((state) => {
      if (state === "live" && head.current === null) reload();
    });
    const stopReach = live.onReachChanged(reload);
    return () => {
      stopState();
      stopReach();
    };
  }, [live, reload]);

  const frame = useMemo(
    () =>
      frameScheduler(() => {
        const arrived = batch.current;
        batch.current = [];
        if (arrived.length > 0 && freshCount.current === 0 && joined.current + arrived.length <= ROOM) {
          joined.current += arrived.length;
          setRows((shown) => [...arrived.reverse(), ...shown]);
          setNotice(arrived.length === 1 ? `New event: ${arrived[0]?.type}.` : `${arrived.length} new events.`);
        } else freshCount.current += arrived.length;
        setFresh(freshCount.current);
      }),
    [],
  );

  useEffect(() => {
    const stop = live.onEvent((event) => {
      if (head.current === null || event.seq <= head.current || !passes(event, current.current)) return;
      if (freshCount.current > 0) {
        // Already announced: only counted, never kept (an import of 100,000 rows holds nothing here).
        freshCount.current += 1;
      } else batch.current.push(event);
      frame.request();
    });
    return () => {
      stop();
      frame.cancel();
    };
  }, [live, frame]);

  return {
    rows,
    loading,
    failure,
    fresh,
    notice,
    /** Whether older events remain to be read. */
    more: older > 0,
    loadOlder: () => void readOlder(loadId.current),
    showNewest: reload,
  };
}
