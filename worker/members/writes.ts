import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type * as v from "valibot";
import { requireAnonymousAccess } from "../anonymous/access";
import type { Caller } from "../app";
import type { MemberLike } from "../cel/cel";
import { appendEvent, now } from "../events/append";
import type { EventType } from "../events/registry";
import { revokePendingOf } from "../invitations/writes";
import { ensureLabels } from "../labels/ensure";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { actorFieldsAsRead, assertActorChange } from "../reach/actor-fields";
import { guardStaysInReach, memberInReach, reachable, reachFilter, reachOf } from "../reach/reach";
import { attributesIssue, mergeAttributes, storedAttributes } from "./attributes";
import { memberJson, parseMember } from "./json";
import { labelsWith, labelsWithout, lacksSomeOf } from "./label-sql";
import {
  assertOutranks,
  assignableRole,
  parsePhoneField,
  requireIdentifier,
  typeOfRole,
  unlessRoleGone,
  withDuplicateCheck,
} from "./rules";
import type { AddLabels, CreateMember, Member, PatchMember } from "./schema";
import { type MemberRow, type MemberStatus, members } from "./table";

const byId = (workspaceId: string, id: string) => and(eq(members.workspaceId, workspaceId), eq(members.id, id));
const fromMember = (id: string) => sql`${members} where ${members.id} = ${id}`;
/** The member as the batch left it; with `within`, only if still in the caller's reach. */
const selectMember = (db: Db, id: string, within?: SQL) =>
  db
    .select({ json: memberJson })
    .from(members)
    .where(and(eq(members.id, id), within));

/**
 * Under a condition that reads `actor`: the caller's own fields it reads stay as they
 * are, and the labels it names move only toward the caller's own (worker/reach/actor-fields.ts).
 */
async function assertActorChangeOf(db: Db, caller: Caller, before: MemberLike, after: MemberLike) {
  if (caller.condition === null) return;
  assertActorChange(await reachOf(db, caller), before, after);
}

/**
 * Reads the member after the batch: the last statement of every member write. Members
 * are never deleted, so no row means one out of the caller's reach: a write guarded by
 * `reachable` (worker/reach) found it hidden by a concurrent change and did nothing.
 */
function committed(rows: { json: string }[]): Member {
  const row = rows[0];
  if (!row) throw notFound("member");
  return parseMember(row.json);
}

export async function loadMember(db: Db, workspaceId: string, id: string): Promise<MemberRow> {
  const [row] = await db.select().from(members).where(byId(workspaceId, id));
  if (!row) throw notFound("member");
  return row;
}

/** The member a caller's write acts on; anonymous, merged and expired members need members:admin, as reading them does. */
async function loadMemberFor(db: Db, caller: Caller, id: string): Promise<MemberRow> {
  const row = await loadMember(db, caller.workspaceId, id);
  requireAnonymousAccess(caller, row.status);
  return row;
}

export async function createMember(
  db: Db,
  caller: Caller,
  input: v.InferOutput<typeof CreateMember>,
  status: MemberStatus = "active",
): Promise<Member> {
  const ws = caller.workspaceId;
  const { phone, phoneNational } = parsePhoneField(input.phone);
  const ids = { email: input.email, phone, externalId: input.externalId };
  requireIdentifier(ids);
  const role = await assignableRole(db, caller, input.role);
  const id = newId("mem");
  const reach = await reachOf(db, caller);
  await assertActorChangeOf(
    db,
    caller,
    { id, name: input.name, labels: [] },
    { id, name: input.name, labels: input.labels, attributes: input.attributes },
  );
  return withDuplicateCheck(
    db,
    ws,
    ids,
    async () => {
      const [insert, ...rest] = memberInsertion(db, ws, {
        ...input,
        ...ids,
        phoneNational,
        id,
        role: role.key,
        status,
      });
      const results = await db
        .batch([insert, ...rest, ...guardStaysInReach(db, reach, id), selectMember(db, id)])
        .catch(unlessRoleGone(role.key));
      return committed(results[results.length - 1] as { json: string }[]);
    },
    { within: reachFilter(reach) },
  );
}

type NewMember = Pick<MemberRow, "id" | "name" | "role" | "status"> &
  Partial<
    Pick<MemberRow, "email" | "phone" | "phoneNational" | "externalId" | "description" | "labels" | "attributes">
  >;

/**
 * The statements that add a member, create its unknown labels and append
 * `member.created`, for the caller's batch. The type is read from the role inside the
 * batch, so a role changed or deleted meanwhile cannot leave a stale or missing type.
 */
export function memberInsertion(db: Db, workspaceId: string, member: NewMember) {
  const at = now();
  const labels = [...new Set(member.labels ?? [])].sort();
  return [
    db.insert(members).values({
      workspaceId,
      id: member.id,
      name: member.name,
      email: member.email ?? null,
      phone: member.phone ?? null,
      phoneNational: member.phoneNational ?? null,
      externalId: member.externalId ?? null,
      description: member.description ?? null,
      role: member.role,
      type: typeOfRole(workspaceId, member.role),
      status: member.status,
      labels,
      attributes: storedAttributes(member.attributes),
      createdAt: at,
      updatedAt: at,
    }),
    ...ensureLabels(db, workspaceId, labels),
    appendEvent(db, workspaceId, "member.created", eventData(), { from: fromMember(member.id) }),
  ] as const;
}

/**
 * Attempts at an edit that lost a race to another change of what it read (labels it
 * edits; on a conditioned caller's own record, fields their condition reads on `actor`),
 * before it answers 409.
 */
const EDIT_ATTEMPTS = 3;

export async function patchMember(
  db: Db,
  caller: Caller,
  id: string,
  input: v.InferOutput<typeof PatchMember>,
): Promise<Member> {
  if (input.email !== undefined || input.phone !== undefined) {
    throw new ApiError(422, "use_credential_change", "Change email or phone with a credential change.", {
      issues: [{ path: input.email !== undefined ? "email" : "phone", message: "Not editable directly." }],
    });
  }
  for (let attempt = 1; ; attempt++) {
    const edited = await editMember(db, caller, await loadMemberFor(db, caller, id), input);
    if (edited) return edited;
    if (attempt === EDIT_ATTEMPTS) {
      throw new ApiError(409, "edit_conflict", "The member kept changing meanwhile; send the edit again.");
    }
  }
}

/**
 * One attempt at an edit of `current`. An edit of labels applies only to the labels it
 * read, so that its member.labeled / member.unlabeled events name exactly what it gave
 * and took, and an edit of the caller's own record under a condition only to the fields
 * it judged (`actorFieldsAsRead`): null when they changed meanwhile (the caller reads them again).
 */
async function editMember(
  db: Db,
  caller: Caller,
  current: MemberRow,
  input: v.InferOutput<typeof PatchMember>,
): Promise<Member | null> {
  const ws = caller.workspaceId;
  const id = current.id;
  // An empty edit changes nothing, so it appends no event.
  if (Object.values(input).every((value) => value === undefined)) {
    const [row] = await selectMember(db, id);
    return committed(row ? [row] : []);
  }
  // Keeping the role the member has is no assignment.
  const role =
    input.role === undefined || input.role === current.role ? undefined : await assignableRole(db, caller, input.role);
  if (role && id === caller.memberId && role.key !== current.role) {
    throw new ApiError(409, "cannot_change_own_role", "Ask another admin to change your role.");
  }
  if (role && role.key !== current.role) await assertOutranks(db, caller, current.role);
  const labels = input.labels && [...new Set(input.labels)].sort();
  const externalId = input.externalId === undefined ? current.externalId : input.externalId;
  requireIdentifier({ email: current.email, phone: current.phone, externalId });
  const attributes = input.attributes === undefined ? undefined : mergeAttributes(current.attributes, input.attributes);
  const attributesRefused = attributes && attributesIssue(attributes);
  if (attributesRefused) {
    throw new ApiError(422, "validation_failed", "The request has invalid fields.", {
      issues: [{ path: "attributes", message: attributesRefused }],
    });
  }
  const reach = await reachOf(db, caller);
  const within = reachable(reach, id);
  await assertActorChangeOf(db, caller, current, {
    ...current,
    name: input.name ?? current.name,
    externalId,
    role: role?.key ?? current.role,
    labels: labels ?? current.labels,
    attributes: attributes ?? current.attributes,
  });
  // The edit applies only to what was judged: the labels and attributes it read (a merge of
  // attributes is checked against the limits as a whole), and on the caller's own record the
  // fields their condition reads on `actor`; if they changed meanwhile, it is tried again.
  const asRead = and(
    labels && sql`json(${members.labels}) = json(${JSON.stringify(current.labels)})`,
    attributes && sql`coalesce(json(${members.attributes}), '{}') = json(${JSON.stringify(current.attributes ?? {})})`,
    actorFieldsAsRead(reach, current),
  );
  // Unknown labels are created only by an edit that happened (one its guard stopped creates none).
  const holdsNewLabels =
    labels &&
    sql`exists (select 1 from ${members} where ${members.id} = ${id} and json(${members.labels}) = json(${JSON.stringify(labels)}))`;
  return withDuplicateCheck(
    db,
    ws,
    { externalId: input.externalId },
    async () => {
      const batch = db.batch([
        db
          .update(members)
          .set({
            name: input.name,
            role: role?.key,
            type: role && typeOfRole(ws, role.key),
            externalId: input.externalId,
            description: input.description,
            labels,
            attributes: attributes && storedAttributes(attributes),
            updatedAt: now(),
          })
          .where(and(byId(ws, id), within, asRead)),
        appendEvent(db, ws, "member.updated", eventData(), { from: fromMember(id), onlyIfChanged: true }),
        // Each appended only if the one before was, so the guard's changes() still says whether the edit happened.
        ...labelEvents(db, ws, id, current.labels, labels),
        ...guardStaysInReach(db, reach, id),
        ...ensureLabels(db, ws, labels ?? [], and(holdsNewLabels, within && memberInReach(within, id))),
        selectMember(db, id, within),
      ]);
      const results = await (role ? batch.catch(unlessRoleGone(role.key)) : batch);
      const after = results[results.length - 1] as { json: string }[];
      // In reach, yet unchanged: only the as-read guard can have stopped it.
      if (asRead && results[0].meta.changes === 0 && after.length > 0) return null;
      return committed(after);
    },
    { exceptId: id, within: reachFilter(reach) },
  );
}

/**
 * member.labeled with the labels an edit gave, member.unlabeled with those it took, after
 * its member.updated (each appended only if the one before it was: the edit happened).
 */
function labelEvents(db: Db, ws: string, id: string, before: readonly string[], after: readonly string[] | undefined) {
  if (!after) return [];
  const given = after.filter((label) => !before.includes(label));
  const taken = before.filter((label) => !after.includes(label));
  const event = (type: EventType, slugs: string[]) =>
    appendEvent(db, ws, type, eventData(sql`, 'labels', json(${JSON.stringify(slugs)})`), {
      from: fromMember(id),
      onlyIfChanged: true,
    });
  return [
    ...(given.length > 0 ? [event("member.labeled", given)] : []),
    ...(taken.length > 0 ? [event("member.unlabeled", taken)] : []),
  ];
}

/**
 * Moves a member between statuses. The update only matches members still in one of
 * `from`, so of two racing requests one changes the row and appends the event; the
 * other changes nothing and answers 409.
 */
export async function changeStatus(
  db: Db,
  caller: Caller,
  id: string,
  change: { from: MemberStatus[]; to: MemberStatus; event: EventType },
): Promise<Member> {
  const ws = caller.workspaceId;
  const current = await loadMemberFor(db, caller, id);
  if (change.to === "archived" && id === caller.memberId) {
    throw new ApiError(409, "cannot_archive_self", "You cannot archive yourself.");
  }
  const conflict = () =>
    new ApiError(409, "invalid_status", `A member who is ${current.status} cannot become ${change.to}.`);
  if (!change.from.includes(current.status)) throw conflict();
  await assertOutranks(db, caller, current.role);
  const reach = await reachOf(db, caller);
  const within = reachable(reach, id);
  const at = now();
  const results = await db.batch([
    db
      .update(members)
      .set({ status: change.to, updatedAt: at })
      .where(and(byId(ws, id), inArray(members.status, change.from), within)),
    appendEvent(db, ws, change.event, eventData(), { from: fromMember(id), onlyIfChanged: true }),
    ...guardStaysInReach(db, reach, id),
    // After the guard, which reads changes() of the event just before it.
    ...(change.to === "archived" ? revokePendingOf(db, ws, id, at) : []),
    selectMember(db, id, within),
  ]);
  const after = committed(results[results.length - 1] as { json: string }[]);
  if (results[0].meta.changes === 0) throw conflict();
  return after;
}

/** Adds labels (creating unknown ones); the union is computed by SQL so racing adds all land. */
export async function addLabels(db: Db, caller: Caller, id: string, input: v.InferOutput<typeof AddLabels>) {
  const ws = caller.workspaceId;
  const current = await loadMemberFor(db, caller, id);
  await assertActorChangeOf(db, caller, current, { ...current, labels: [...current.labels, ...input.labels] });
  const reach = await reachOf(db, caller);
  const within = reachable(reach, id);
  const added = JSON.stringify([...new Set(input.labels)].sort());
  const results = await db.batch([
    db
      .update(members)
      .set({
        labels: labelsWith(added),
        updatedAt: now(),
      })
      .where(and(byId(ws, id), lacksSomeOf(added), within)),
    appendEvent(db, ws, "member.labeled", eventData(sql`, 'labels', json(${added})`), {
      from: fromMember(id),
      onlyIfChanged: true,
    }),
    ...guardStaysInReach(db, reach, id),
    ...ensureLabels(db, ws, input.labels, within && memberInReach(within, id)),
    selectMember(db, id, within),
  ]);
  return committed(results[results.length - 1] as { json: string }[]);
}

export async function removeLabel(db: Db, caller: Caller, id: string, slug: string) {
  const ws = caller.workspaceId;
  const current = await loadMemberFor(db, caller, id);
  const labels = current.labels.filter((label) => label !== slug);
  await assertActorChangeOf(db, caller, current, { ...current, labels });
  const reach = await reachOf(db, caller);
  const within = reachable(reach, id);
  const results = await db.batch([
    db
      .update(members)
      .set({
        labels: labelsWithout(slug),
        updatedAt: now(),
      })
      .where(and(byId(ws, id), sql`exists (select 1 from json_each(${members.labels}) where value = ${slug})`, within)),
    appendEvent(db, ws, "member.unlabeled", eventData(sql`, 'labels', json_array(${slug})`), {
      from: fromMember(id),
      onlyIfChanged: true,
    }),
    ...guardStaysInReach(db, reach, id),
    selectMember(db, id, within),
  ]);
  return committed(results[results.length - 1] as { json: string }[]);
}

/** Event data of member events: the member as committed, plus any extra JSON fields. */
function eventData(extra = sql``) {
  return sql`json_object('member', json(${memberJson})${extra})`;
}
