// Every table, for drizzle's typed client. Each feature owns its own table file.
export * from "../api-keys/table";
export * from "../events/table";
export * from "../labels/table";
export * from "../members/table";
export * from "../platform/table";
export * from "../roles/table";
