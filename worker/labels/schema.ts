import * as v from "valibot";
import { Slug, Timestamp } from "../lib/fields";

const Color = v.pipe(v.string(), v.regex(/^#[0-9a-fA-F]{6}$/, "A hex color like #3b82f6."));

const LabelName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(64));
const Description = v.pipe(v.string(), v.maxLength(500));

export const CreateLabel = v.strictObject({
  name: LabelName,
  slug: v.optional(Slug),
  color: v.optional(Color),
  description: v.optional(Description),
});

/** PATCH /v1/labels/{slug}: the fields given change (`description: null` clears it); the slug stays. */
export const PatchLabel = v.strictObject({
  name: v.optional(LabelName),
  color: v.optional(Color),
  description: v.optional(v.nullable(Description)),
});

export const LabelJson = v.object({
  slug: v.string(),
  name: v.string(),
  color: v.string(),
  description: v.nullable(v.string()),
  createdAt: Timestamp,
});

/** A label in GET /v1/labels: with how many members hold it (any status) when the page was read. */
export const LabelListed = v.object({ ...LabelJson.entries, holders: v.number() });

/** DELETE /v1/labels/{slug} when holders are left to a background job. */
export const LabelDeletion = v.object({
  slug: v.string(),
  status: v.literal("deleting"),
  /** Members who still hold the label, which the job unlabels. */
  holders: v.number(),
});
