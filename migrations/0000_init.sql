CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`expires_at` text NOT NULL,
	`revoked_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_keyHash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_by_workspace` ON `api_keys` (`workspace_id`,`id`);--> statement-breakpoint
CREATE TABLE `events` (
	`workspace_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`at` text NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `labels` (
	`workspace_id` text NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`color` text NOT NULL,
	`description` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `slug`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `labels_name` ON `labels` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `member_labels` (
	`member_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`label` text NOT NULL,
	`status` text NOT NULL,
	PRIMARY KEY(`member_id`, `label`)
);
--> statement-breakpoint
CREATE INDEX `member_labels_by_label` ON `member_labels` (`workspace_id`,`label`,`status`,`member_id`);--> statement-breakpoint
CREATE TABLE `member_search` (
	`workspace_id` text NOT NULL,
	`status` text NOT NULL,
	`term` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `status`, `term`, `member_id`)
);
--> statement-breakpoint
CREATE INDEX `member_search_by_member` ON `member_search` (`member_id`);--> statement-breakpoint
CREATE TABLE `members` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`email` text,
	`phone` text,
	`phone_national` text,
	`external_id` text,
	`description` text,
	`role` text NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`labels` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `members_email` ON `members` (`workspace_id`,`email`);--> statement-breakpoint
CREATE UNIQUE INDEX `members_phone` ON `members` (`workspace_id`,`phone`);--> statement-breakpoint
CREATE UNIQUE INDEX `members_external_id` ON `members` (`workspace_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `members_by_status` ON `members` (`workspace_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `members_by_type` ON `members` (`workspace_id`,`status`,`type`,`id`);--> statement-breakpoint
CREATE INDEX `members_by_role` ON `members` (`workspace_id`,`status`,`role`,`id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`allow_join_requests` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workspaces_slug_unique` ON `workspaces` (`slug`);--> statement-breakpoint
CREATE TABLE `roles` (
	`workspace_id` text NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`scopes` text NOT NULL,
	`condition` text,
	`built_in` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `key`)
);
