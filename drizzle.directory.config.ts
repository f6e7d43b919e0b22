import { defineConfig } from "drizzle-kit";

/** The directory database (binding DIRECTORY): its own tables and migrations (worker/shards). */
export default defineConfig({
  dialect: "sqlite",
  schema: ["./worker/shards/directory-table.ts", "./worker/moves/directory-table.ts", "./worker/idempotency/table.ts"],
  out: "./migrations/directory",
  casing: "snake_case",
});
