-- A role's new type reaches its members in bounded batches (worker/roles/retype.ts): the
-- mark of a role whose members still carry the old type, for the sweep that resumes a
-- lost job.
ALTER TABLE `roles` ADD `retyping_since` text;--> statement-breakpoint
CREATE INDEX `roles_retyping` ON `roles` (`retyping_since`) WHERE retyping_since is not null;