import * as v from "valibot";

/**
 * The "imports" queue's message: "go on with this import from where it stands". The import
 * is on its workspace's shard; messages queued before shards have no `workspaceId`, and
 * their imports are on shard 0.
 */
export const ImportMessage = v.object({
  importId: v.pipe(v.string(), v.maxLength(64)),
  workspaceId: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
export type ImportMessage = v.InferOutput<typeof ImportMessage>;
