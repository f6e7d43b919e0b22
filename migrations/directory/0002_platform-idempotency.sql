CREATE TABLE `idempotency_keys` (
	`workspace_id` text NOT NULL,
	`credential` text NOT NULL,
	`key_hash` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`body` text,
	`content_type` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `credential`, `key_hash`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created` ON `idempotency_keys` (`created_at`);