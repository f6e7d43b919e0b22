CREATE TABLE `import_chunks` (
	`import_id` text NOT NULL,
	`chunk` integer NOT NULL,
	`start_byte` integer NOT NULL,
	`end_byte` integer NOT NULL,
	`rows` integer NOT NULL,
	`stale` integer NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`import_id`, `chunk`),
	CONSTRAINT "import_chunks_fresh" CHECK(stale = 0)
);
--> statement-breakpoint
CREATE TABLE `import_errors` (
	`import_id` text NOT NULL,
	`row` integer NOT NULL,
	`errors` text NOT NULL,
	`cells` text NOT NULL,
	PRIMARY KEY(`import_id`, `row`)
);
--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`status` text NOT NULL,
	`source` text NOT NULL,
	`role` text NOT NULL,
	`created_by` text NOT NULL,
	`caller_scopes` text NOT NULL,
	`object_key` text NOT NULL,
	`bytes` integer NOT NULL,
	`columns` text NOT NULL,
	`header` text NOT NULL,
	`warnings` text NOT NULL,
	`total` integer,
	`processed` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`updated` integer DEFAULT 0 NOT NULL,
	`unchanged` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`position` integer NOT NULL,
	`line` integer NOT NULL,
	`chunks` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `imports_by_workspace` ON `imports` (`workspace_id`,`id`);