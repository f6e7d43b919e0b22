import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { knownEvent, OUT_OF_REACH, outOfReachIds } from "../../../worker/live/protocol";
import { api, errorMessage, type Member, ok } from "../app/api";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";
import { type Filters, listQuery, matches } from "./filters";
import { type ListView, LiveRows } from "./live-rows";

export const PAGE_SIZE = 50;
/** A frame that changed more rows than this highlights none: a burst is no change to point at. */
const FLASH_AT_MOST = 5;

/**
 * The members list of People -> Members: keyset pages of the filters, kept live by events.
 * Events are folded as they come and applied once a frame (./live-rows.ts): the rows stay
 * within the pages loaded, and members new to the list beyond them are counted in `fresh`
 * for "N new members: show" (`showNewest`), so a bulk change costs a render a frame.
 */
export function useMemberList(options: {
  live: LiveConnection;
  filters: Filters;
  flash: (id: string) => void;
  onNotice: (text: string) => void;
}) {
  const { live, filters } = options;
  const [rows, setRows] = useState<readonly Member[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  const [fresh, setFresh] = useState(0);
  // The list as events are judged against it: events come between renders, so it is kept here.
  const view = useRef<ListView>({
    rows: [],
    byId: new Map(),
    filters,
    capacity: PAGE_SIZE,
    complete: true,
    reloading: true,
  });
  view.current.filters = filters;
  const fold = useMemo(() => new LiveRows(), []);
  // Bumped per load so a slow answer for old filters never overwrites a newer one.
  const loadId = useRef(0);

  const show = useCallback((next: readonly Member[]) => {
    view.current.rows = next;
    view.current.byId = new Map(next.map((m) => [m.id, m]));
    setRows(next);
  }, []);

  const load = useCallback(
    async (f: Filters, after: string | null) => {
      const id = ++loadId.current;
      setLoading(true);
      setFailure(null);
      if (!after) {
        view.current.reloading = true;
        fold.reset(view.current);
        setFresh(0);
      }
      try {
        const page = await ok(
          api.GET("/v1/members", {
            params: {
              query: {
                ...listQuery(f),
                limit: PAGE_SIZE,
                cursor: after ?? undefined,
              },
            },
          }),
        );
        if (id !== loadId.current) return;
        if (after) {
          const { rows: shown, byId } = view.current;
          show([...shown, ...page.data.filter((m) => !byId.has(m.id))]);
          view.current.capacity += PAGE_SIZE;
        } else {
          show(page.data);
          view.current.capacity = PAGE_SIZE;
          fold.rebase(page.data);
          setFresh(fold.fresh);
        }
        view.current.complete = page.nextCursor === null;
        setCursor(page.nextCursor);
      } catch (error) {
        if (id === loadId.current) setFailure(errorMessage(error));
      } finally {
        if (id === loadId.current) {
          setLoading(false);
          view.current.reloading = false;
        }
      }
    },
    [fold, show],
  );

  useEffect(() => {
    void load(filters, null);
  }, [filters, load]);

  // Which members our role reaches changed (our own labels or role): load the list afresh.
  useEffect(() => live.onReachChanged(() => void load(view.current.filters, null)), [live, load]);

  // Once a frame: what the events since the last one left, applied in one render.
  const latest = useRef(options);
  latest.current = options;
  const frame = useMemo(
    () =>
      frameScheduler(() => {
        const applied = fold.flush(view.current);
        if (!applied) return;
        const { flash, onNotice } = latest.current;
        if (applied.rows !== view.current.rows) show(applied.rows);
        setFresh(applied.fresh);
        if (applied.single) onNotice(describe(applied.single.type, applied.single.member));
        else if (applied.touched > 1) onNotice(`${applied.touched} members changed.`);
        if (applied.changed.length <= FLASH_AT_MOST) for (const id of applied.changed) flash(id);
      }),
    [fold, show],
  );

  // Live: every member event carries the member as committed; under a role condition, a
  // member who leaves our reach comes as ids only. Each is folded at once, rendered a frame later.
  useEffect(() => {
    const stop = live.onEvent((event) => {
      const gone = outOfReachIds(event);
      if (gone.length > 0) fold.gone(gone, view.current);
      else {
        const known = knownEvent(event);
        if (!known || known.type === OUT_OF_REACH || !known.type.startsWith("member.") || !("member" in known.data)) {
          return;
        }
        fold.member(known.type, known.data.member, view.current);
      }
      frame.request();
    });
    return () => {
      stop();
      frame.cancel();
    };
  }, [live, fold, frame]);

  return {
    rows,
    cursor,
    loading,
    failure,
    fresh,
    loadMore: () => cursor && load(filters, cursor),
    /** "N new members: show": the first page afresh. */
    showNewest: () => load(filters, null),
    /** The answer to our own write is the member as committed: show it at once (its event follows). */
    applyLocally: (member: Member) => {
      const belongs = matches(member, view.current.filters);
      const shown = view.current.rows;
      show(belongs ? shown.map((m) => (m.id === member.id ? member : m)) : shown.filter((m) => m.id !== member.id));
    },
    drop: (id: string) => show(view.current.rows.filter((m) => m.id !== id)),
  };
}

function describe(type: string, member: Member): string {
  const verb = type.slice("member.".length);
  return `${member.name} ${verb === "created" ? "was added" : `was ${verb}`}.`;
}
