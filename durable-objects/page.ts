import { needsMembersAdmin } from "../worker/anonymous/access";
import type { MemberLike } from "../worker/cel/cel";
import { type EventFamily, familyFilter, familyOf } from "../worker/events/families";
import type { Actor } from "../worker/events/schema";
import { prospectiveMember } from "../worker/join-requests/reach";
import type { D1Queries } from "../worker/lib/db";
import { OUT_OF_REACH, type ServerMessage } from "../worker/live/protocol";
import type { EventRow } from "./event-log";
import { watcherReaches } from "./watcher";
import type { Watcher } from "./workspace-live";

/**
 * What a watcher gets of the event log. Each family of events only if its scopes (the role's,
 * narrowed by the key's) grant the family's read scope (worker/events/families.ts): labels
 * with labels:read, actions with automations:read, and so on; the seqs of the others are
 * gaps in its stream, not a loss. Without members:admin, nothing about an anonymous,
 * merged or expired member (as its `member` or a merge's `into`), which REST refuses it too
 * (worker/anonymous/access.ts), except a merge or its undo without that member; no member
 * ever enters those statuses from one it saw, so nothing leaves its reach there. Under a
 * role condition (worker/reach): an event whose every member it reaches, as is; an event that
 * took a member out of its reach (seen at the member's previous event, not at this one), as
 * `member.out_of_reach` with the same seq and only the ids; anything else, nothing.
 */

/** A member an event is about, under the field naming it; null when the event names them by id only. */
type Subject = { field: string; member: MemberLike | null };

/** Events about an anonymous member that a watcher without members:admin gets without it (see `#withoutAnonymous`). */
const PARTIAL_TYPES = new Set(["member.merged", "member.unmerged"]);

/** Fields that carry a member as committed, whose previous picture is the member's previous event. */
const MEMBER_FIELDS = ["member", "into"] as const;

/** Top-level fields that name a member by id (`member.unmerged`'s `from`, `memberId`): judged only through a member carried whole. */
const ID_FIELDS = new Set(["from", "memberId"]);

const isMember = (value: unknown): value is MemberLike =>
  !!value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string";

/**
 * The members an event is about: its `member` and a merge's `into`; the person a join
 * request would make a member (worker/join-requests/reach.ts); and any member named by
 * id only (an object's `memberId`, a top-level `from` or `memberId`) that the event does
 * not also carry whole, which no condition can judge, so such an event is not sent to
 * conditioned watchers.
 */
export function subjectsOf(data: string): Subject[] {
  const parsed = JSON.parse(data) as Record<string, unknown>;
  const subjects: Subject[] = [];
  for (const field of MEMBER_FIELDS) {
    const value = parsed[field];
    if (isMember(value)) subjects.push({ field, member: value });
  }
  const request = parsed.joinRequest as { name?: unknown; email?: unknown; phone?: string | null } | undefined;
  if (request && typeof request.name === "string" && typeof request.email === "string") {
    subjects.push({
      field: "joinRequest",
      member: prospectiveMember({ ...request, name: request.name, email: request.email }),
    });
  }
  const carried = new Set(subjects.map((s) => s.member?.id));
  for (const [field, value] of Object.entries(parsed)) {
    const id =
      value && typeof value === "object"
        ? (value as { memberId?: unknown }).memberId
        : ID_FIELDS.has(field)
          ? value
          : undefined;
    if (typeof id === "string" && !carried.has(id)) subjects.push({ field, member: null });
  }
  return subjects;
}

const reaches = (w: Watcher, s: Subject) => s.member !== null && watcherReaches(w, s.member);
const isMemberField = (s: Subject): s is { field: (typeof MEMBER_FIELDS)[number]; member: MemberLike } =>
  s.member !== null && (MEMBER_FIELDS as readonly string[]).includes(s.field);

/**
 * A page of the log, read once and sent to every socket: its frames, and for conditioned
 * watchers the events' subjects and the members' pictures before the page (loaded only
 * when some watcher no longer reaches a member in it).
 */
export class Page {
  readonly frames: string[];
  #subjects: Subject[][] | undefined;
  #families: (EventFamily | undefined)[] | undefined;
  /** Per event: whether it is about a member only members:admin reaches. */
  #adminOnly: boolean[] | undefined;
  /** Each member's picture at their latest event before the page; null when there is none. */
  readonly #before = new Map<string, MemberLike | null>();

  constructor(readonly rows: readonly EventRow[]) {
    this.frames = rows.map(frame);
  }

  get subjects(): Subject[][] {
    this.#subjects ??= this.rows.map((row) => subjectsOf(row.data));
    return this.#subjects;
  }

  /** Per event, its family (worker/events/families.ts): what a watcher's scopes must read. */
  get families(): (EventFamily | undefined)[] {
    this.#families ??= this.rows.map((row) => familyOf(row.type));
    return this.#families;
  }

  /** Whether the watcher's scopes let it be sent the page's event i at all. */
  #admits(w: Watcher, filter: ReturnType<typeof familyFilter>, i: number): boolean {
    return filter.admits(
      this.families[i],
      () => this.subjects[i]?.find((s) => s.field === "member")?.member?.id === w.memberId,
    );
  }

  /** Whether the page's event i is withheld from the watcher for want of members:admin. */
  #withheld(w: Watcher, i: number): boolean {
    if (w.seesAnonymous) return false;
    this.#adminOnly ??= this.subjects.map((subjects) =>
      subjects.some((s) => isMemberField(s) && needsMembersAdmin(s.member.status)),
    );
    return this.#adminOnly[i] ?? false;
  }

  /**
   * Loads, in one query, the earlier pictures `framesFor` needs for these watchers: of the
   * members that some conditioned watcher does not see at an event of the page.
   */
  async prepare(db: D1Queries, workspaceId: string, watchers: readonly Watcher[]) {
    const conditioned = watchers.filter((w) => w.condition).map((w) => ({ w, filter: familyFilter(w.granted ?? []) }));
    if (conditioned.length === 0) return;
    const ids = new Set<string>();
    for (const [i, subjects] of this.subjects.entries()) {
      for (const s of subjects) {
        if (
          isMemberField(s) &&
          !this.#before.has(s.member.id) &&
          conditioned.some(({ w, filter }) => this.#admits(w, filter, i) && !this.#withheld(w, i) && !reaches(w, s))
        ) {
          ids.add(s.member.id);
        }
      }
    }
    if (ids.size === 0) return;
    const first = this.rows[0]?.seq ?? 0;
    const { results } = await db
      .prepare(
        // One probe of events_by_member (migrations/0012) per member.
        `select j.value as id, (select e.data from events e where e.workspace_id = ?1
           and json_extract(e.data, '$.member.id') = j.value and e.seq < ?2 order by e.seq desc limit 1) as data
         from json_each(?3) j`,
      )
      .bind(workspaceId, first, JSON.stringify([...ids]))
      .all<{ id: string; data: string | null }>();
    for (const { id, data } of results) {
      const member = data ? (JSON.parse(data) as { member?: unknown }).member : undefined;
      this.#before.set(id, isMember(member) ? member : null);
    }
  }

  /** The frames [from, to) of the page for one watcher; `prepare` must have seen the watcher. */
  framesFor(w: Watcher, from: number, to: number): string[] {
    const filter = familyFilter(w.granted ?? []);
    if (!w.condition && w.seesAnonymous && filter.every) return this.frames.slice(from, to);
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      if (!this.#admits(w, filter, i)) continue;
      if (this.#withheld(w, i)) {
        const partial = this.#withoutAnonymous(w, i);
        if (partial) out.push(partial);
        continue;
      }
      const subjects = this.subjects[i] ?? [];
      if (!w.condition || subjects.every((s) => reaches(w, s))) {
        out.push(this.frames[i] ?? "");
        continue;
      }
      const gone = subjects.filter((s) => isMemberField(s) && !reaches(w, s) && this.#wasSeen(w, i, s.member.id));
      const row = this.rows[i];
      if (row && gone.length > 0)
        out.push(
          outOfReach(
            row,
            gone.map((s) => s.field),
            gone.map((s) => s.member?.id ?? ""),
          ),
        );
    }
    return out;
  }

  /**
   * A merge (or its undo) withheld for want of members:admin, as the member it went into may
   * still see it: without the anonymous member, so that a watcher of the target's history
   * (`GET /v1/members/{id}/messages`, members:read) learns that messages moved in or out.
   * Only to a watcher who reaches the target.
   */
  #withoutAnonymous(w: Watcher, i: number): string | undefined {
    const row = this.rows[i];
    const into = this.subjects[i]?.find((s) => s.field === "into");
    if (!row || !PARTIAL_TYPES.has(row.type) || !into?.member || needsMembersAdmin(into.member.status))
      return undefined;
    if (w.condition && !reaches(w, into)) return undefined;
    const { member: _anonymous, ...rest } = JSON.parse(row.data) as Record<string, unknown>;
    return frame({ ...row, data: JSON.stringify(rest) });
  }

  /** Whether the watcher saw the member at the member's latest event before the page's event i. */
  #wasSeen(w: Watcher, i: number, id: string): boolean {
    for (let j = i - 1; j >= 0; j--) {
      const earlier = this.subjects[j]?.find((s) => isMemberField(s) && s.member.id === id);
      if (earlier?.member) return watcherReaches(w, earlier.member);
    }
    const before = this.#before.get(id);
    return before ? watcherReaches(w, before) : false;
  }
}

/** An event as its wire frame; `data` and `actor` are already JSON in D1 and are spliced in as is. */
export function frame(row: EventRow): string {
  return `{"seq":${row.seq},"type":${JSON.stringify(row.type)},"at":${JSON.stringify(row.at)},"data":${row.data},"actor":${row.actor}}`;
}

function outOfReach(row: EventRow, fields: string[], ids: string[]): string {
  const data = Object.fromEntries(fields.map((field, k) => [field, { id: ids[k] }]));
  // Of the actor, only its kind: nothing else of the change is sent.
  const actor = { type: (JSON.parse(row.actor) as Actor).type };
  return JSON.stringify({ seq: row.seq, type: OUT_OF_REACH, at: row.at, data, actor } satisfies ServerMessage);
}
