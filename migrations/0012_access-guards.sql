-- Role conditions (worker/access): the guard table that fails a write's batch leaving a
-- member out of the caller's sight, and the index by which the live stream finds the
-- latest event about a member before a given seq.
CREATE TABLE `access_guard` (
	`refused` integer NOT NULL,
	CONSTRAINT "forbidden_by_condition" CHECK(`refused` = 0)
);
--> statement-breakpoint
CREATE INDEX `events_by_member` ON `events` (`workspace_id`, json_extract(`data`, '$.member.id'), `seq`);
