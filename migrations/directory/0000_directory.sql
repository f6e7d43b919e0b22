CREATE TABLE `credential_routes` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `credential_routes_by_workspace` ON `credential_routes` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`shard` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workspaces_slug_unique` ON `workspaces` (`slug`);--> statement-breakpoint
CREATE TABLE `registrations` (
	`shard` integer PRIMARY KEY NOT NULL,
	`cursor` text NOT NULL,
	`registered` integer NOT NULL,
	`done` integer NOT NULL,
	`updated_at` text NOT NULL
);
