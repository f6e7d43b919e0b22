-- Moves of workspaces between shards (worker/moves/directory-table.ts): kept in the directory,
-- since a move spans two shards; one unfinished move per workspace.
CREATE TABLE `moves` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`from_shard` integer NOT NULL,
	`to_shard` integer NOT NULL,
	`status` text NOT NULL,
	`cursor` text NOT NULL,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `moves_one_unfinished` ON `moves` (`workspace_id`) WHERE finished_at is null;