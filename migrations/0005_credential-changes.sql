CREATE TABLE `credential_changes` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`kind` text NOT NULL,
	`old_value` text,
	`new_value` text NOT NULL,
	`new_national` text,
	`sent_to` text NOT NULL,
	`status` text NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` text NOT NULL,
	`requested_by` text,
	`confirmation` text,
	`confirmed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credential_changes_tokenHash_unique` ON `credential_changes` (`token_hash`);--> statement-breakpoint
CREATE INDEX `credential_changes_by_member` ON `credential_changes` (`member_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `credential_changes_one_pending` ON `credential_changes` (`member_id`,`kind`) WHERE status = 'pending';