// Every table, for drizzle's typed client. Each feature owns its own table file.

export * from "../anonymous/table";
export * from "../api-keys/table";
export * from "../credentials/table";
export * from "../events/table";
export * from "../imports/table";
export * from "../invitations/table";
export * from "../join-requests/table";
export * from "../labels/table";
export * from "../members/table";
export * from "../outbox/table";
export * from "../platform/table";
export * from "../reach/table";
export * from "../roles/table";
export * from "../sessions/table";
export * from "../sms-settings/table";
export * from "../upgrades/table";
