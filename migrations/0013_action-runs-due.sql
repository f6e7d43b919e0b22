ALTER TABLE `action_runs` ADD `due_at` text;--> statement-breakpoint
ALTER TABLE `action_runs` ADD `lease_until` text;--> statement-breakpoint
CREATE INDEX `action_runs_due` ON `action_runs` (`due_at`) WHERE status = 'pending';--> statement-breakpoint
-- Runs pending before this migration are due now: the sweep picks them up.
UPDATE `action_runs` SET `due_at` = `updated_at` WHERE `status` = 'pending';
