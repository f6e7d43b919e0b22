-- member_search gains `lcp` in its key (next migration), which rebuilds the table: the
-- triggers that write it go first (SQLite refuses to rename a table into place while a
-- trigger names a missing one), and come back with `lcp` after it.
DROP TRIGGER members_status_update;
--> statement-breakpoint
DROP TRIGGER members_search_insert;
--> statement-breakpoint
DROP TRIGGER members_search_update;
