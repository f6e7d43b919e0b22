-- Lean member rows (issue 19): index rows without the member's JSON and without by-member
-- indexes, fewer member indexes, and members and events as WITHOUT ROWID tables (one b-tree
-- entry a row, where a rowid table with a text key keeps a second one). The conversion is
-- online and in bounded steps: this migration only creates the new tables (empty), the
-- triggers that index them, and triggers that mirror every write of the old `members` and
-- `events` into them. The upgrade job (worker/upgrades) copies the existing rows a bounded
-- batch at a time, then swaps the tables in one batch and empties the old ones the same way.
-- Until the swap, lists read the old tables (worker/members/legacy).
CREATE TABLE `members_next` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`email` text,
	`phone` text,
	`phone_national` text,
	`external_id` text,
	`description` text,
	`role` text NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`labels` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`json` text GENERATED ALWAYS AS (json_object('id', id, 'name', name, 'email', email, 'phone', phone, 'role', role, 'type', type,
  'externalId', external_id, 'description', description, 'labels', json(labels), 'status', status,
  'createdAt', created_at, 'updatedAt', updated_at)) VIRTUAL NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `members_by_email` ON `members_next` (`workspace_id`,`email`) WHERE `email` IS NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX `members_by_phone` ON `members_next` (`workspace_id`,`phone`) WHERE `phone` IS NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX `members_by_external_id` ON `members_next` (`workspace_id`,`external_id`) WHERE `external_id` IS NOT NULL;
--> statement-breakpoint
CREATE INDEX `members_by_status_role` ON `members_next` (`workspace_id`,`status`,`role`,`id`);
--> statement-breakpoint
CREATE TABLE `members_by_label` (
	`workspace_id` text NOT NULL,
	`label` text NOT NULL,
	`status` text NOT NULL,
	`member_id` text NOT NULL,
	`many` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `label`, `status`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `members_by_label_many` ON `members_by_label` (`workspace_id`,`label`,`status`,`member_id`) WHERE `many` = 1;
--> statement-breakpoint
CREATE TABLE `members_by_label_pair` (
	`workspace_id` text NOT NULL,
	`label` text NOT NULL,
	`other` text NOT NULL,
	`status` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `label`, `other`, `status`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `members_by_term` (
	`workspace_id` text NOT NULL,
	`status` text NOT NULL,
	`lcp` integer NOT NULL,
	`term` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `status`, `lcp`, `term`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `workspace_calling_codes` (
	`workspace_id` text NOT NULL,
	`code` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `code`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `events_next` (
	`workspace_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`at` text NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `seq`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `events_of_member` ON `events_next` (`workspace_id`, json_extract(`data`, '$.member.id'), `seq`);
--> statement-breakpoint
CREATE TABLE `schema_upgrades` (
	`name` text PRIMARY KEY NOT NULL,
	`phase` text NOT NULL,
	`cursor` text NOT NULL,
	`cursor_seq` integer NOT NULL,
	`copied` integer NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `schema_upgrades` VALUES ('lean-members', 'copy-members', '', 0, 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
--> statement-breakpoint
-- A member's index rows, kept in the statement that writes the member. One trigger per
-- concern, each only when what it indexes changed; rows are found by their keys from OLD
-- (no by-member index to keep). 6 is PAIRED_LABELS_MAX (worker/members/table.ts).
CREATE TRIGGER members_indexed_insert AFTER INSERT ON members_next BEGIN
  INSERT INTO members_by_label (workspace_id, label, status, member_id, many)
    SELECT DISTINCT NEW.workspace_id, value, NEW.status, NEW.id, json_array_length(NEW.labels) > 6 FROM json_each(NEW.labels);
  INSERT INTO members_by_label_pair (workspace_id, label, other, status, member_id)
    SELECT DISTINCT NEW.workspace_id, a.value, b.value, NEW.status, NEW.id
    FROM json_each(NEW.labels) AS a JOIN json_each(NEW.labels) AS b ON a.value < b.value
    WHERE json_array_length(NEW.labels) <= 6;
  INSERT INTO members_by_term (workspace_id, status, lcp, term, member_id)
    SELECT NEW.workspace_id, NEW.status, lcp, term, NEW.id FROM (SELECT CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END AS lcp, term
      FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
        FROM (SELECT DISTINCT column1 AS term FROM (VALUES
          (lower(NEW.name)),
          (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
          (NEW.email))
        WHERE column1 IS NOT NULL AND column1 != '')));
  INSERT OR IGNORE INTO workspace_calling_codes (workspace_id, code)
    SELECT NEW.workspace_id, substr(NEW.phone, 2, length(NEW.phone) - 1 - length(NEW.phone_national))
    WHERE NEW.phone IS NOT NULL AND NEW.phone_national IS NOT NULL
      AND length(NEW.phone) - 1 - length(NEW.phone_national) BETWEEN 1 AND 3;
END;
--> statement-breakpoint
CREATE TRIGGER members_indexed_labels AFTER UPDATE OF labels, status ON members_next
WHEN OLD.labels IS NOT NEW.labels OR OLD.status IS NOT NEW.status BEGIN
  DELETE FROM members_by_label WHERE workspace_id = OLD.workspace_id AND status = OLD.status AND member_id = OLD.id
    AND label IN (SELECT value FROM json_each(OLD.labels))
    AND (OLD.status IS NOT NEW.status OR label NOT IN (SELECT value FROM json_each(NEW.labels)));
  UPDATE members_by_label SET many = json_array_length(NEW.labels) > 6
    WHERE workspace_id = NEW.workspace_id AND status = NEW.status AND member_id = NEW.id
    AND label IN (SELECT value FROM json_each(NEW.labels)) AND many IS NOT (json_array_length(NEW.labels) > 6);
  INSERT OR IGNORE INTO members_by_label (workspace_id, label, status, member_id, many)
    SELECT DISTINCT NEW.workspace_id, value, NEW.status, NEW.id, json_array_length(NEW.labels) > 6 FROM json_each(NEW.labels);
  DELETE FROM members_by_label_pair WHERE workspace_id = OLD.workspace_id
    AND label IN (SELECT value FROM json_each(OLD.labels)) AND other IN (SELECT value FROM json_each(OLD.labels))
    AND status = OLD.status AND member_id = OLD.id
    AND (OLD.status IS NOT NEW.status OR json_array_length(NEW.labels) > 6
      OR label NOT IN (SELECT value FROM json_each(NEW.labels)) OR other NOT IN (SELECT value FROM json_each(NEW.labels)));
  INSERT OR IGNORE INTO members_by_label_pair (workspace_id, label, other, status, member_id)
    SELECT DISTINCT NEW.workspace_id, a.value, b.value, NEW.status, NEW.id
    FROM json_each(NEW.labels) AS a JOIN json_each(NEW.labels) AS b ON a.value < b.value
    WHERE json_array_length(NEW.labels) <= 6;
END;
--> statement-breakpoint
CREATE TRIGGER members_indexed_terms AFTER UPDATE OF name, email, status ON members_next
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.status IS NOT NEW.status BEGIN
  DELETE FROM members_by_term WHERE workspace_id = OLD.workspace_id AND status = OLD.status AND member_id = OLD.id
    AND (lcp, term) IN (SELECT lcp, term FROM (SELECT CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END AS lcp, term
      FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
        FROM (SELECT DISTINCT column1 AS term FROM (VALUES
          (lower(OLD.name)),
          (CASE WHEN instr(OLD.name, ' ') > 0 THEN lower(substr(OLD.name, instr(OLD.name, ' ') + 1)) END),
          (OLD.email))
        WHERE column1 IS NOT NULL AND column1 != '')))
      WHERE OLD.status IS NOT NEW.status OR (lcp, term) NOT IN (SELECT lcp, term FROM (SELECT CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END AS lcp, term
      FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
        FROM (SELECT DISTINCT column1 AS term FROM (VALUES
          (lower(NEW.name)),
          (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
          (NEW.email))
        WHERE column1 IS NOT NULL AND column1 != '')))));
  INSERT OR IGNORE INTO members_by_term (workspace_id, status, lcp, term, member_id)
    SELECT NEW.workspace_id, NEW.status, lcp, term, NEW.id FROM (SELECT CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END AS lcp, term
      FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
        FROM (SELECT DISTINCT column1 AS term FROM (VALUES
          (lower(NEW.name)),
          (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
          (NEW.email))
        WHERE column1 IS NOT NULL AND column1 != '')));
END;
--> statement-breakpoint
CREATE TRIGGER members_indexed_phone AFTER UPDATE OF phone ON members_next WHEN OLD.phone IS NOT NEW.phone BEGIN
  INSERT OR IGNORE INTO workspace_calling_codes (workspace_id, code)
    SELECT NEW.workspace_id, substr(NEW.phone, 2, length(NEW.phone) - 1 - length(NEW.phone_national))
    WHERE NEW.phone IS NOT NULL AND NEW.phone_national IS NOT NULL
      AND length(NEW.phone) - 1 - length(NEW.phone_national) BETWEEN 1 AND 3;
END;
--> statement-breakpoint
CREATE TRIGGER members_indexed_delete AFTER DELETE ON members_next BEGIN
  DELETE FROM members_by_label WHERE workspace_id = OLD.workspace_id AND status = OLD.status AND member_id = OLD.id
    AND label IN (SELECT value FROM json_each(OLD.labels));
  DELETE FROM members_by_label_pair WHERE workspace_id = OLD.workspace_id
    AND label IN (SELECT value FROM json_each(OLD.labels)) AND other IN (SELECT value FROM json_each(OLD.labels))
    AND status = OLD.status AND member_id = OLD.id;
  DELETE FROM members_by_term WHERE workspace_id = OLD.workspace_id AND status = OLD.status AND member_id = OLD.id
    AND (lcp, term) IN (SELECT lcp, term FROM (SELECT CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END AS lcp, term
      FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
        FROM (SELECT DISTINCT column1 AS term FROM (VALUES
          (lower(OLD.name)),
          (CASE WHEN instr(OLD.name, ' ') > 0 THEN lower(substr(OLD.name, instr(OLD.name, ' ') + 1)) END),
          (OLD.email))
        WHERE column1 IS NOT NULL AND column1 != ''))));
END;
--> statement-breakpoint
-- Until the swap, every write of the old tables is made in the new ones too.
CREATE TRIGGER members_mirror_insert AFTER INSERT ON members BEGIN
  INSERT OR IGNORE INTO members_next (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, created_at, updated_at) VALUES (NEW.id, NEW.workspace_id, NEW.name, NEW.email, NEW.phone, NEW.phone_national, NEW.external_id, NEW.description, NEW.role, NEW.type, NEW.status, NEW.labels, NEW.created_at, NEW.updated_at);
END;
--> statement-breakpoint
CREATE TRIGGER members_mirror_update AFTER UPDATE ON members BEGIN
  UPDATE members_next SET workspace_id = NEW.workspace_id, name = NEW.name, email = NEW.email, phone = NEW.phone, phone_national = NEW.phone_national, external_id = NEW.external_id, description = NEW.description, role = NEW.role, type = NEW.type, status = NEW.status, labels = NEW.labels, created_at = NEW.created_at, updated_at = NEW.updated_at WHERE id = OLD.id;
END;
--> statement-breakpoint
CREATE TRIGGER members_mirror_delete AFTER DELETE ON members BEGIN
  DELETE FROM members_next WHERE id = OLD.id;
END;
--> statement-breakpoint
CREATE TRIGGER events_mirror_insert AFTER INSERT ON events BEGIN
  INSERT OR IGNORE INTO events_next (workspace_id, seq, type, at, data) VALUES (NEW.workspace_id, NEW.seq, NEW.type, NEW.at, NEW.data);
END;
