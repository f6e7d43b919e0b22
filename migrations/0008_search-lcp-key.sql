PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_member_search` (
	`workspace_id` text NOT NULL,
	`status` text NOT NULL,
	`lcp` integer NOT NULL,
	`term` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `status`, `lcp`, `term`, `member_id`)
);
--> statement-breakpoint
INSERT INTO `__new_member_search`("workspace_id", "status", "lcp", "term", "member_id") SELECT "workspace_id", "status", "lcp", "term", "member_id" FROM `member_search`;--> statement-breakpoint
DROP TABLE `member_search`;--> statement-breakpoint
ALTER TABLE `__new_member_search` RENAME TO `member_search`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `member_search_by_member` ON `member_search` (`member_id`);