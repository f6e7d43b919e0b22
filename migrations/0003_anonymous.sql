CREATE TABLE `anonymous_resolutions` (
	`member_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`identifier` text NOT NULL,
	`status` text NOT NULL,
	`resolved_into` text,
	`resolved_by` text,
	`resolved_at` text,
	`merge_id` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `anonymous_resolutions_by_status` ON `anonymous_resolutions` (`workspace_id`,`status`);--> statement-breakpoint
CREATE TABLE `member_identities` (
	`workspace_id` text NOT NULL,
	`phone` text NOT NULL,
	`member_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `phone`)
);
--> statement-breakpoint
CREATE INDEX `member_identities_by_member` ON `member_identities` (`member_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`channel` text NOT NULL,
	`direction` text NOT NULL,
	`body` text,
	`provider_id` text NOT NULL,
	`from_number` text NOT NULL,
	`to_number` text,
	`call_status` text,
	`call_duration` integer,
	`moved_by` text,
	`at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_provider_id` ON `messages` (`workspace_id`,`provider_id`);--> statement-breakpoint
CREATE INDEX `messages_by_member` ON `messages` (`member_id`,`id`);--> statement-breakpoint
CREATE INDEX `messages_moved_by` ON `messages` (`moved_by`);--> statement-breakpoint
CREATE TABLE `sms_settings` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`account_sid` text NOT NULL,
	`auth_token` text NOT NULL,
	`numbers` text NOT NULL,
	`anonymous_expiry_days` integer,
	`updated_at` text NOT NULL
);
