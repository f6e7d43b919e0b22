CREATE TABLE `invitation_links` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`invitation_id` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `invitations` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`channel` text NOT NULL,
	`email` text,
	`phone` text,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` text NOT NULL,
	`sent_at` text NOT NULL,
	`invited_by` text,
	`join_request_id` text,
	`accepted_at` text,
	`accepted_session_id` text,
	`revoked_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `invitations_by_status` ON `invitations` (`workspace_id`,`status`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_one_pending` ON `invitations` (`member_id`) WHERE status = 'pending';--> statement-breakpoint
CREATE TABLE `join_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`email` text NOT NULL,
	`phone` text,
	`message` text,
	`status` text NOT NULL,
	`invitation_id` text,
	`decided_by` text,
	`decided_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `join_requests_by_status` ON `join_requests` (`workspace_id`,`status`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `join_requests_one_pending` ON `join_requests` (`workspace_id`,`email`) WHERE status = 'pending';--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`channel` text NOT NULL,
	`to` text NOT NULL,
	`subject` text,
	`text` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_by_recipient` ON `outbox` (`workspace_id`,`to`,`id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`ended_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_tokenHash_unique` ON `sessions` (`token_hash`);--> statement-breakpoint
CREATE INDEX `sessions_by_member` ON `sessions` (`member_id`);--> statement-breakpoint
CREATE TABLE `sign_in_links` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text,
	`session_id` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
-- Archiving (or any move away from active) ends the member's sessions, whichever path
-- changed the status; unarchiving does not bring them back.
CREATE TRIGGER members_end_sessions AFTER UPDATE OF status ON members
  WHEN OLD.status = 'active' AND NEW.status != 'active' BEGIN
  UPDATE sessions SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE member_id = NEW.id AND ended_at IS NULL;
END;
