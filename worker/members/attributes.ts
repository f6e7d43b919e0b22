import * as v from "valibot";

/**
 * Custom attributes of a member: up to MAX_ATTRIBUTES keys of string, number or boolean
 * values, at most MAX_ATTRIBUTE_BYTES as serialized JSON (UTF-8). Stored as one JSON text
 * column (null when empty: most members have none, and a list reads every byte of a row).
 */
export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_BYTES = 4096;
export const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,39}$/;
const KEY_MESSAGE = "Attribute keys are 1-40 lowercase letters, digits and underscores, starting with a letter.";

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

const Key = v.pipe(v.string(), v.regex(ATTRIBUTE_KEY, KEY_MESSAGE));
// Finite numbers only: JSON has no NaN or Infinity (JSON.parse never gives them, but a valibot number would).
const Value = v.union([v.string(), v.pipe(v.number(), v.finite()), v.boolean()], "Use a string, number or boolean.");

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/** The limits on a whole set of attributes (what a member holds after a write). */
export function attributesIssue(attributes: Attributes): string | null {
  const keys = Object.keys(attributes).length;
  if (keys > MAX_ATTRIBUTES) return `At most ${MAX_ATTRIBUTES} attributes; this would be ${keys}.`;
  const size = bytes(attributes);
  if (size > MAX_ATTRIBUTE_BYTES)
    return `At most ${MAX_ATTRIBUTE_BYTES} bytes of attributes as JSON; this would be ${size}.`;
  return null;
}

const withinLimits = v.rawCheck<Attributes>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  const issue = attributesIssue(dataset.value);
  if (issue) addIssue({ message: issue });
});

/** A member's attributes, as create sets them and Member JSON shows them. */
export const AttributesSchema = v.pipe(
  v.record(Key, Value),
  withinLimits,
  v.metadata({
    description: `Custom attributes: up to ${MAX_ATTRIBUTES} keys (\`${ATTRIBUTE_KEY.source}\`) of string, number or boolean values, at most ${MAX_ATTRIBUTE_BYTES} bytes as JSON. Readable in conditions as \`member.attributes.<key>\`.`,
  }),
);

/**
 * A patch's attributes, merged into the member's (as Stripe merges metadata): a key with
 * a value sets it, a key with null deletes it, keys not named stay. `null` for the whole
 * object deletes them all. The limits apply to the result (`attributesIssue`).
 */
export const AttributesPatch = v.pipe(
  v.record(Key, v.nullable(Value)),
  v.metadata({
    description:
      "Merged into the member's attributes: a key with a value sets it, a key with null deletes it, keys not named stay as they are; `attributes: null` deletes them all. The limits hold for the result.",
  }),
);

/** `current` with `patch` merged in (null deletes a key; a null patch deletes all). */
export function mergeAttributes(
  current: Attributes | null,
  patch: Record<string, AttributeValue | null> | null,
): Attributes {
  if (patch === null) return {};
  const merged: Attributes = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** How attributes are stored: null when there are none. */
export const storedAttributes = (attributes: Attributes | undefined | null) =>
  attributes && Object.keys(attributes).length > 0 ? attributes : null;

/** What a CSV cell reads as a number: JSON's number syntax. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * An attribute as a CSV cell (members export), read back by `attributeFromCell` (import):
 * numbers and booleans as written (`42`, `true`); strings as they are, but in JSON quotes
 * (`"42"`, `""`) when the import would read them otherwise: as a number, a boolean, quoted,
 * empty, or trimmed.
 */
export function attributeCell(value: AttributeValue): string {
  if (typeof value !== "string") return JSON.stringify(value);
  const ambiguous =
    value === "" ||
    value !== value.trim() ||
    value === "true" ||
    value === "false" ||
    JSON_NUMBER.test(value) ||
    value.startsWith('"');
  return ambiguous ? JSON.stringify(value) : value;
}

/** A CSV cell (trimmed, not empty) as an attribute value: see `attributeCell`. */
export function attributeFromCell(cell: string): AttributeValue {
  if (cell === "true") return true;
  if (cell === "false") return false;
  if (JSON_NUMBER.test(cell)) {
    const number = Number(cell);
    if (Number.isFinite(number)) return number;
  }
  if (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(cell);
      if (typeof parsed === "string") return parsed;
    } catch {
      // Not a JSON string after all: the cell as it is.
    }
  }
  return cell;
}
