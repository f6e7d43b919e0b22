import { needsMembersAdmin } from "../anonymous/access";
import { LABEL_DELETING } from "../labels/guard";
import { newId } from "../lib/ids";
import { type Attributes, attributesIssue } from "../members/attributes";
import { conditionRefusal } from "../members/rules";
import type { MemberStatus } from "../members/table";
import type { MemberType, Scope } from "../roles/scopes";
import { grants } from "../roles/scopes";
import { COLUMN_NAME, type Field, IDENTIFIERS } from "./columns";
import type { ParsedRow, RowValues } from "./rows";
import type { RowError } from "./table";

/** A member as the chunk found it in D1 (`seen` is its updatedAt then). */
export type KnownMember = {
  id: string;
  email: string | null;
  phone: string | null;
  phoneNational: string | null;
  externalId: string | null;
  name: string;
  description: string | null;
  labels: string[];
  /** {} when it holds none. */
  attributes: Attributes;
  role: string;
  type: MemberType;
  status: MemberStatus;
  updatedAt: string;
};

/** A member the chunk writes: its state after every row of the chunk, in file order. */
export type Person = Omit<KnownMember, "updatedAt"> & {
  isNew: boolean;
  /** Its labels as the chunk read them (none for a new member): member.labeled names the rest. */
  labelsRead: string[];
  /** updatedAt when read; the batch refuses to commit if it changed since (see ./table.ts). */
  seen: string | null;
  changed: boolean;
  /** The first row that created or changed it: member events follow file order. */
  firstRow: number;
};

export type RoleInfo = { key: string; type: MemberType; scopes: Scope[]; condition?: string | null };

export type ImportContext = {
  role: string;
  callerScopes: Scope[];
  /** The importer's role condition: a `role` column may then only name roles with the same (worker/members/rules.ts). */
  callerCondition?: string | null;
  roles: Map<string, RoleInfo>;
  /**
   * Why the importer may not change a member so (worker/reach/actor-fields.ts: labels
   * their condition reads on `actor`, or such fields of their own record), naming the
   * field; absent, any change goes.
   */
  actorRefusal?: (before: Person, after: Person) => { field: string; message: string } | null;
  /** Whether the importer's role condition holds for a member (worker/reach); absent, for everyone. */
  reaches?: (member: Person) => boolean;
  /** Labels being deleted (worker/labels/deletion.ts): a row naming one fails, as the API answers 409 label_deleting. */
  deletingLabels?: ReadonlySet<string>;
};

export type Outcome = "created" | "updated" | "unchanged" | "failed";

export type ChunkPlan = {
  /** Members to insert, and existing members to update, in the order of their first row. */
  writes: Person[];
  failures: { row: number; cells: string[]; errors: RowError[] }[];
  counts: Record<Outcome, number>;
};

type Identifier = (typeof IDENTIFIERS)[number];

/**
 * Decides what each row of a chunk does, in file order, as if rows were applied one at
 * a time: a row matching nobody creates a member; a row matching one member (by email,
 * else external ID, else phone) updates it; a later row for a person an earlier row
 * created or changed builds on that. Empty cells leave values as they are, labels are
 * added (never removed), identifiers are filled in when missing but never replaced
 * (email and phone change through a credential change), and the role applies only to
 * new members. The rows' identifiers must all belong to the members in `known`.
 */
export function planChunk(rows: readonly ParsedRow[], known: readonly KnownMember[], ctx: ImportContext): ChunkPlan {
  const index: Record<Identifier, Map<string, Person>> = {
    email: new Map(),
    externalId: new Map(),
    phone: new Map(),
  };
  const remember = (person: Person) => {
    for (const f of IDENTIFIERS) {
      const value = person[f];
      if (value) index[f].set(value, person);
    }
  };
  for (const m of known) {
    const { updatedAt, ...rest } = m;
    remember({ ...rest, isNew: false, labelsRead: rest.labels, seen: updatedAt, changed: false, firstRow: 0 });
  }
  const writes: Person[] = [];
  const failures: ChunkPlan["failures"] = [];
  const counts: Record<Outcome, number> = { created: 0, updated: 0, unchanged: 0, failed: 0 };

  for (const row of rows) {
    const errors = row.errors.length > 0 ? row.errors : undefined;
    const result = errors ? { errors } : (deletingLabel(row, ctx) ?? applyRow(row, index, ctx));
    if ("errors" in result) {
      failures.push({ row: row.row, cells: row.cells, errors: result.errors });
      counts.failed++;
      continue;
    }
    counts[result.outcome]++;
    const person = result.person;
    if (result.outcome !== "unchanged" && person.firstRow === 0) {
      person.firstRow = row.row;
      writes.push(person);
    }
    remember(person);
  }
  return { writes, failures, counts };
}

function applyRow(
  row: ParsedRow,
  index: Record<Identifier, Map<string, Person>>,
  ctx: ImportContext,
): { errors: RowError[] } | { outcome: Exclude<Outcome, "failed">; person: Person } {
  const values = row.values;
  const matches: { field: Identifier; person: Person }[] = [];
  for (const field of IDENTIFIERS) {
    const value = values[field];
    const person = value ? index[field].get(value) : undefined;
    if (person) matches.push({ field, person });
  }
  const [first] = matches;
  if (!first) return createPerson(row, ctx);

  const other = matches.find((m) => m.person !== first.person);
  if (other) {
    return {
      errors: [
        {
          column: COLUMN_NAME[other.field],
          value: values[other.field] ?? "",
          // Ids in parentheses: a reader who does not reach one reads "(outside your reach)" (./reach.ts).
          message: `Matches one member (${other.person.id}), but the ${COLUMN_NAME[first.field]} matches another (${first.person.id}).`,
        },
      ],
    };
  }
  const person = first.person;
  // Before the row says anything about the member: one the importer may not change is refused as such.
  const refused = memberRefusal(person, values, first.field, ctx);
  if (refused) return refused;
  const errors: RowError[] = [];
  for (const field of IDENTIFIERS) {
    const value = values[field];
    if (value && person[field] && person[field] !== value) {
      errors.push({
        column: COLUMN_NAME[field],
        value,
        message: `The member matched by ${COLUMN_NAME[first.field]} (${person.id}) has another ${COLUMN_NAME[field]}; imports never replace one.`,
      });
    }
  }
  // Email and phone are how a member signs in and confirms changes: an import must not
  // give an existing member one (that would hand their account to whoever wrote the file).
  for (const field of ["email", "phone"] as const) {
    const value = values[field];
    if (value && !person[field] && !person.isNew) {
      errors.push({
        column: COLUMN_NAME[field],
        value,
        message: `The member matched by ${COLUMN_NAME[first.field]} (${person.id}) has no ${COLUMN_NAME[field]}; add one with a credential change, imports never set one.`,
      });
    }
  }
  if (errors.length > 0) return { errors };
  // Merged into a copy first: a row refused as out of reach must leave the person as it was.
  const after = { ...person };
  const changed = merge(after, values);
  const tooMany = attributesIssue(after.attributes);
  if (tooMany) return { errors: [{ column: "attributes", value: "", message: tooMany }] };
  if (!isInReach(person, ctx) || !isInReach(after, ctx)) return outsideReach(values, first.field);
  const actorError = actorRefusal(person, after, values, ctx);
  if (actorError) return actorError;
  Object.assign(person, after);
  return { outcome: changed ? "updated" : "unchanged", person };
}

/** A row naming a label that is being deleted: it must not come back halfway through its deletion. */
function deletingLabel(row: ParsedRow, ctx: ImportContext): { errors: RowError[] } | null {
  const slug = row.values.labels.find((label) => ctx.deletingLabels?.has(label));
  if (slug === undefined) return null;
  return { errors: [{ column: COLUMN_NAME.labels, value: slug, message: LABEL_DELETING }] };
}

const isInReach = (person: Person, ctx: ImportContext) => ctx.reaches?.(person) ?? true;

/**
 * Why the importer may not change the member a row matched, as the API would refuse it:
 * an anonymous, merged or expired member needs members:admin (worker/anonymous/access.ts),
 * and the importer's role condition must reach the member.
 */
function memberRefusal(person: Person, values: RowValues, field: Identifier, ctx: ImportContext) {
  if (needsMembersAdmin(person.status) && !grants(ctx.callerScopes, "members:admin")) {
    return {
      errors: [
        {
          column: COLUMN_NAME[field],
          value: values[field] ?? "",
          message: `The member matched by ${COLUMN_NAME[field]} is anonymous, merged or expired; changing one needs the members:admin scope.`,
        },
      ],
    };
  }
  return isInReach(person, ctx) ? null : outsideReach(values, field);
}

/** A row whose labels (or, on the importer's own record, fields) the importer may not change so, as the API refuses it. */
function actorRefusal(before: Person, after: Person, values: RowValues, ctx: ImportContext) {
  const refused = ctx.actorRefusal?.(before, after);
  if (!refused) return null;
  const field = refused.field as Field;
  const value = field === "labels" ? values.labels.join(",") : (values[field] ?? "");
  return { errors: [{ column: COLUMN_NAME[field] ?? refused.field, value, message: refused.message }] };
}

/**
 * A row the importer's role condition excludes, before or after it applies: refused as
 * the API refuses such a write (worker/reach), named by the row's identifier.
 */
function outsideReach(values: RowValues, field: Identifier): { errors: RowError[] } {
  return {
    errors: [
      {
        column: COLUMN_NAME[field],
        value: values[field] ?? "",
        message: "The member is outside your reach: your role's condition does not reach it.",
      },
    ],
  };
}

/** Applies a row's values to a person; true when anything changed. */
function merge(person: Person, values: RowValues): boolean {
  const before = JSON.stringify(person);
  person.name = values.name ?? person.name;
  person.description = values.description ?? person.description;
  person.email ??= values.email ?? null;
  person.externalId ??= values.externalId ?? null;
  if (!person.phone && values.phone) {
    person.phone = values.phone;
    person.phoneNational = values.phoneNational ?? null;
  }
  person.labels = [...new Set([...person.labels, ...values.labels])].sort();
  // Attributes the row names are set; those it leaves empty stay.
  person.attributes = { ...person.attributes, ...values.attributes };
  const changed = JSON.stringify(person) !== before;
  person.changed ||= changed;
  return changed;
}

function createPerson(
  row: ParsedRow,
  ctx: ImportContext,
): { errors: RowError[] } | { outcome: "created"; person: Person } {
  const values = row.values;
  const key = values.role ?? ctx.role;
  const role = ctx.roles.get(key);
  const roleError = (message: string) => ({ errors: [{ column: COLUMN_NAME.role, value: key, message }] });
  if (!role) return roleError(`No role "${key}" in this workspace.`);
  const missing = role.scopes.filter((s) => !grants(ctx.callerScopes, s));
  if (missing.length > 0) return roleError(`Assigning "${key}" needs ${missing.join(", ")}, which the importer lacks.`);
  const refused = conditionRefusal(ctx.callerCondition ?? null, { key, condition: role.condition ?? null });
  if (refused) return roleError(refused);
  const person: Person = {
    id: newId("mem"),
    isNew: true,
    labelsRead: [],
    seen: null,
    changed: true,
    firstRow: 0,
    email: values.email ?? null,
    phone: values.phone ?? null,
    phoneNational: values.phoneNational ?? null,
    externalId: values.externalId ?? null,
    // The name is optional in a file; a member needs one, so the first identifier stands in.
    name: values.name ?? values.email ?? values.phone ?? values.externalId ?? "",
    description: values.description ?? null,
    labels: values.labels,
    attributes: values.attributes,
    role: role.key,
    type: role.type,
    status: "active",
  };
  if (!isInReach(person, ctx)) {
    return outsideReach(values, IDENTIFIERS.find((f) => values[f]) ?? "email");
  }
  const actorError = actorRefusal({ ...person, labels: [] }, person, values, ctx);
  if (actorError) return actorError;
  return { outcome: "created", person };
}
