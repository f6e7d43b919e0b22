import type { Member } from "../app/api";
import { type Filters, matches, newestFirst } from "./filters";

/**
 * How many ids of members announced as new are kept, to count each member once (an
 * import's row may come as member.created, then as member.updated). Past it each event
 * counts without its id kept, so a long flood keeps the page's memory flat.
 */
const FRESH_IDS_KEPT = 10_000;

/** The list as live events are judged against it: what it shows and may show. */
export type ListView = {
  rows: readonly Member[];
  /** `rows` by id. */
  byId: ReadonlyMap<string, Member>;
  filters: Filters;
  /** Rows the list holds at most: the pages loaded so far. */
  capacity: number;
  /** No further page: every member the filters match is in `rows`. */
  complete: boolean;
  /** A first page is on its way (other filters, "show", reach changed): nothing joins the old rows. */
  reloading: boolean;
};

export type Applied = {
  /** The rows to show: `view.rows` itself when none changed. */
  rows: readonly Member[];
  /** Rows replaced or added (to highlight). */
  changed: string[];
  /** Rows replaced, added or dropped. */
  touched: number;
  /** Members new to the list that it does not show: announced. */
  fresh: number;
  /** The one member event since the last frame, if only one came: it is described. */
  single: { type: string; member: Member } | null;
};

/**
 * Live member events folded between two frames. It keeps the latest picture of each
 * member the list shows or is about to show (null: gone out of our reach) and counts the
 * members that are new to the list but not shown (rows beyond the pages loaded, or a
 * flood). A frame then applies them at once. What it holds is bounded by the rows shown
 * (and FRESH_IDS_KEPT), not by the events: an import of a million rows costs no more.
 */
export class LiveRows {
  #pictures = new Map<string, Member | null>();
  /** How many of `#pictures` are not in the rows yet (members joining the list). */
  #joining = 0;
  #fresh = new Set<string>();
  #freshCount = 0;
  #events = 0;
  #last: { type: string; member: Member } | null = null;

  get fresh() {
    return this.#freshCount;
  }

  /** An event's picture of a member, as committed. */
  member(type: string, member: Member, view: ListView) {
    this.#events++;
    this.#last = { type, member };
    const { id } = member;
    const known = this.#pictures.has(id) ? this.#pictures.get(id) : view.byId.get(id);
    // An older picture than the one held (a replay meeting a fresh page) changes nothing.
    if (known && known.updatedAt > member.updatedAt) return;
    if (known !== undefined) {
      this.#pictures.set(id, member);
      return;
    }
    if (!matches(member, view.filters)) return this.#forget(id);
    if (this.#fresh.has(id) || !belongs(member, view)) return;
    if (this.#freshCount === 0 && !view.reloading && view.rows.length + this.#joining < view.capacity) {
      this.#pictures.set(id, member);
      this.#joining++;
      return;
    }
    this.#announce(id);
  }

  /** Members who left our reach (a role condition no longer reaches them). */
  gone(ids: string[], view: ListView) {
    this.#events++;
    this.#last = null;
    for (const id of ids) {
      if (this.#pictures.has(id) || view.byId.has(id)) this.#pictures.set(id, null);
      else this.#forget(id);
    }
  }

  /** The rows with everything folded since the last call applied; null when nothing came. */
  flush(view: ListView): Applied | null {
    if (this.#events === 0) return null;
    const single = this.#events === 1 ? this.#last : null;
    const pictures = this.#pictures;
    this.#pictures = new Map();
    this.#joining = 0;
    this.#events = 0;
    this.#last = null;

    const rows: Member[] = [];
    const changed: string[] = [];
    let touched = 0;
    for (const row of view.rows) {
      const picture = pictures.get(row.id);
      if (picture === undefined || (picture && picture.updatedAt < row.updatedAt)) {
        rows.push(row);
      } else if (picture && matches(picture, view.filters)) {
        rows.push(picture);
        changed.push(row.id);
        touched++;
      } else {
        touched++;
      }
      pictures.delete(row.id);
    }
    const joining = [...pictures.values()].filter((m): m is Member => m !== null && matches(m, view.filters));
    if (joining.length > 0) {
      // Once some are announced, the rest of a burst is too: the rows shown stay the older ones.
      if (this.#freshCount > 0 || view.reloading || rows.length + joining.length > view.capacity) {
        for (const member of joining) this.#announce(member.id);
      } else {
        touched += joining.length;
        changed.push(...joining.map((m) => m.id));
        // Search results keep the server's order: a newcomer goes on top, the latest first.
        if (view.filters.q) rows.unshift(...joining.reverse());
        else rows.push(...joining);
        if (!view.filters.q) rows.sort(newestFirst);
      }
    }
    return { rows: touched > 0 ? rows : view.rows, changed, touched, fresh: this.#freshCount, single };
  }

  /** A first page was asked for: what was announced is in it, and joins wait for it. */
  reset(view: ListView) {
    this.#fresh.clear();
    this.#freshCount = 0;
    for (const id of this.#pictures.keys()) if (!view.byId.has(id)) this.#pictures.delete(id);
    this.#joining = 0;
  }

  /**
   * The first page came (`page`, now the rows): members announced while it was on its
   * way that it holds are no longer new; pictures of rows it dropped are of no use.
   */
  rebase(page: readonly Member[]) {
    const ids = new Set(page.map((m) => m.id));
    for (const id of ids) this.#forget(id);
    for (const id of this.#pictures.keys()) if (!ids.has(id)) this.#pictures.delete(id);
    this.#joining = 0;
  }

  #announce(id: string) {
    if (this.#fresh.size < FRESH_IDS_KEPT) this.#fresh.add(id);
    this.#freshCount++;
  }

  #forget(id: string) {
    if (this.#fresh.delete(id)) this.#freshCount--;
  }
}

/**
 * Whether a member who matches the filters has its place among the rows loaded, newest
 * first: not when it sorts after the last of them and further pages exist ("Load more"
 * brings it). Search results are in the server's order, so a match there always counts.
 */
function belongs(member: Member, view: ListView): boolean {
  const last = view.rows.at(-1);
  return view.complete || !!view.filters.q || !last || newestFirst(member, last) < 0;
}
