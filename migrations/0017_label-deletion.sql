-- Labels deleted in bounded batches (worker/labels/deletion.ts): a label being deleted
-- (gone to the API, taken from its holders by a job) and the guard table that refuses
-- writes naming it (worker/labels/guard.ts).
CREATE TABLE `label_guard` (
	`refused` integer NOT NULL,
	CONSTRAINT "label_deleting" CHECK("label_guard"."refused" = 0)
);
--> statement-breakpoint
ALTER TABLE `labels` ADD `deleting_since` text;--> statement-breakpoint
CREATE INDEX `labels_deleting` ON `labels` (`deleting_since`) WHERE deleting_since is not null;