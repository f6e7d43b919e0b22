-- Bulk work in bounded transactions (issue 19). Labels deleted in bounded batches
-- (worker/labels/deletion.ts): a label being deleted (gone to the API, taken from its
-- holders by a job) and the guard table that refuses writes naming it
-- (worker/labels/guard.ts). Import chunks sized from the D1 time of the chunks before
-- (worker/lib/bounded.ts): the rows per chunk, kept for the next invocation. A role's new
-- type reaches its members in bounded batches (worker/roles/retype.ts): the mark of a role
-- whose members still carry the old type, for the sweep that resumes a lost job.
CREATE TABLE `label_guard` (
	`refused` integer NOT NULL,
	CONSTRAINT "label_deleting" CHECK("label_guard"."refused" = 0)
);
--> statement-breakpoint
ALTER TABLE `imports` ADD `chunk_rows` integer;--> statement-breakpoint
ALTER TABLE `labels` ADD `deleting_since` text;--> statement-breakpoint
CREATE INDEX `labels_deleting` ON `labels` (`deleting_since`) WHERE deleting_since is not null;--> statement-breakpoint
ALTER TABLE `roles` ADD `retyping_since` text;--> statement-breakpoint
CREATE INDEX `roles_retyping` ON `roles` (`retyping_since`) WHERE retyping_since is not null;