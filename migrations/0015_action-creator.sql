-- Actions created before this migration have no recorded creator (created_by is null):
-- nobody's scopes vouch for them, so each pauses at its next run, saying so
-- (worker/actions/authority.ts); someone holding the scopes it needs creates it again.
ALTER TABLE `actions` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `actions` ADD `paused_at` text;--> statement-breakpoint
ALTER TABLE `actions` ADD `paused_reason` text;
