-- Covering index rows: member_labels and member_search carry the member's JSON (the new
-- generated column members.json), and member_label_pairs (new) holds one row per pair of a
-- member's labels, so that label, two-label and search pages read only their index rows
-- (see worker/members/reads.ts). The three are WITHOUT ROWID: one b-tree entry a row (plus
-- a by-member index for labels and terms), where a rowid table with a composite primary
-- key keeps the row and a copy of its key: a row written is one write fewer. 6 below is
-- PAIRED_LABELS_MAX (worker/members/table.ts): members with more labels have no pair rows
-- and are marked `many` in member_labels.
--
-- The triggers that keep them replace those of 0001/0009, which go first (a table is not
-- dropped while a trigger names it). One trigger per event, so their statements run in
-- order: every write of a member that changes its JSON rewrites the JSON of its rows
-- (a status change moves them), and only a change of name, email or phone rebuilds its terms.
DROP TRIGGER members_labels_insert;
--> statement-breakpoint
DROP TRIGGER members_labels_update;
--> statement-breakpoint
DROP TRIGGER members_status_update;
--> statement-breakpoint
DROP TRIGGER members_search_insert;
--> statement-breakpoint
DROP TRIGGER members_search_update;
--> statement-breakpoint
ALTER TABLE `members` ADD `json` text GENERATED ALWAYS AS (json_object('id', id, 'name', name, 'email', email, 'phone', phone, 'role', role, 'type', type,
  'externalId', external_id, 'description', description, 'labels', json(labels), 'status', status,
  'createdAt', created_at, 'updatedAt', updated_at)) VIRTUAL NOT NULL;
--> statement-breakpoint
CREATE TABLE `__new_member_labels` (
	`workspace_id` text NOT NULL,
	`label` text NOT NULL,
	`status` text NOT NULL,
	`member_id` text NOT NULL,
	`many` integer NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `label`, `status`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_member_labels` (workspace_id, label, status, member_id, many, json)
  SELECT DISTINCT m.workspace_id, l.value, m.status, m.id, json_array_length(m.labels) > 6, m.json
  FROM members AS m, json_each(m.labels) AS l;
--> statement-breakpoint
DROP TABLE `member_labels`;
--> statement-breakpoint
ALTER TABLE `__new_member_labels` RENAME TO `member_labels`;
--> statement-breakpoint
CREATE UNIQUE INDEX `member_labels_by_member` ON `member_labels` (`member_id`,`label`);
--> statement-breakpoint
CREATE INDEX `member_labels_many` ON `member_labels` (`workspace_id`,`label`,`status`,`member_id`) WHERE "member_labels"."many" = 1;
--> statement-breakpoint
CREATE TABLE `member_label_pairs` (
	`workspace_id` text NOT NULL,
	`label` text NOT NULL,
	`other` text NOT NULL,
	`status` text NOT NULL,
	`member_id` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `label`, `other`, `status`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `member_label_pairs` (workspace_id, label, other, status, member_id, json)
  SELECT DISTINCT m.workspace_id, a.value, b.value, m.status, m.id, m.json
  FROM members AS m, json_each(m.labels) AS a, json_each(m.labels) AS b
  WHERE a.value < b.value AND json_array_length(m.labels) <= 6;
--> statement-breakpoint
CREATE TABLE `__new_member_search` (
	`workspace_id` text NOT NULL,
	`status` text NOT NULL,
	`lcp` integer NOT NULL,
	`term` text NOT NULL,
	`member_id` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `status`, `lcp`, `term`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_member_search` (workspace_id, status, lcp, term, member_id, json)
  SELECT s.workspace_id, s.status, s.lcp, s.term, s.member_id, m.json
  FROM member_search AS s JOIN members AS m ON m.id = s.member_id;
--> statement-breakpoint
DROP TABLE `member_search`;
--> statement-breakpoint
ALTER TABLE `__new_member_search` RENAME TO `member_search`;
--> statement-breakpoint
CREATE INDEX `member_search_by_member` ON `member_search` (`member_id`);
--> statement-breakpoint
CREATE TRIGGER members_index_insert AFTER INSERT ON members BEGIN
  INSERT INTO member_labels (workspace_id, label, status, member_id, many, json)
    SELECT DISTINCT NEW.workspace_id, value, NEW.status, NEW.id, json_array_length(NEW.labels) > 6, NEW.json FROM json_each(NEW.labels);
  INSERT INTO member_label_pairs (workspace_id, label, other, status, member_id, json)
    SELECT DISTINCT NEW.workspace_id, a.value, b.value, NEW.status, NEW.id, NEW.json
    FROM json_each(NEW.labels) AS a JOIN json_each(NEW.labels) AS b ON a.value < b.value
    WHERE json_array_length(NEW.labels) <= 6;
  INSERT INTO member_search (workspace_id, status, lcp, term, member_id, json)
    SELECT NEW.workspace_id, NEW.status,
      CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END,
      term, NEW.id, NEW.json
    FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
      FROM (SELECT DISTINCT column1 AS term FROM (VALUES
        (lower(NEW.name)),
        (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
        (NEW.email),
        (substr(NEW.phone, 2)),
        (NEW.phone_national))
      WHERE column1 IS NOT NULL AND column1 != ''));
END;
--> statement-breakpoint
CREATE TRIGGER members_index_update AFTER UPDATE ON members
WHEN OLD.json IS NOT NEW.json OR OLD.phone_national IS NOT NEW.phone_national BEGIN
  -- Labels: drop the ones gone, move (status) or rewrite (JSON) the rest, add the new.
  DELETE FROM member_labels WHERE member_id = NEW.id AND label NOT IN (SELECT value FROM json_each(NEW.labels));
  UPDATE member_labels SET status = NEW.status, many = json_array_length(NEW.labels) > 6, json = NEW.json
    WHERE member_id = NEW.id AND status IS NOT NEW.status;
  UPDATE member_labels SET many = json_array_length(NEW.labels) > 6, json = NEW.json
    WHERE member_id = NEW.id AND (json IS NOT NEW.json OR many IS NOT (json_array_length(NEW.labels) > 6));
  INSERT OR IGNORE INTO member_labels (workspace_id, label, status, member_id, many, json)
    SELECT DISTINCT NEW.workspace_id, value, NEW.status, NEW.id, json_array_length(NEW.labels) > 6, NEW.json FROM json_each(NEW.labels);
  -- Pairs, the same way; none past 6 labels. They are found by their key, from the
  -- labels and status the member had: pairs have no by-member index to keep.
  DELETE FROM member_label_pairs WHERE workspace_id = NEW.workspace_id AND label IN (SELECT value FROM json_each(OLD.labels))
    AND other IN (SELECT value FROM json_each(OLD.labels)) AND member_id = NEW.id AND status = OLD.status
    AND (json_array_length(NEW.labels) > 6 OR label NOT IN (SELECT value FROM json_each(NEW.labels)) OR other NOT IN (SELECT value FROM json_each(NEW.labels)));
  UPDATE member_label_pairs SET status = NEW.status, json = NEW.json
    WHERE workspace_id = NEW.workspace_id AND label IN (SELECT value FROM json_each(OLD.labels))
    AND other IN (SELECT value FROM json_each(OLD.labels)) AND member_id = NEW.id AND status = OLD.status AND OLD.status IS NOT NEW.status;
  UPDATE member_label_pairs SET json = NEW.json WHERE workspace_id = NEW.workspace_id AND label IN (SELECT value FROM json_each(OLD.labels))
    AND other IN (SELECT value FROM json_each(OLD.labels)) AND member_id = NEW.id AND status = NEW.status AND json IS NOT NEW.json;
  INSERT OR IGNORE INTO member_label_pairs (workspace_id, label, other, status, member_id, json)
    SELECT DISTINCT NEW.workspace_id, a.value, b.value, NEW.status, NEW.id, NEW.json
    FROM json_each(NEW.labels) AS a JOIN json_each(NEW.labels) AS b ON a.value < b.value
    WHERE json_array_length(NEW.labels) <= 6;
  -- Search terms: rebuilt when name, email or phone changed, else moved or rewritten.
  DELETE FROM member_search WHERE member_id = NEW.id AND (OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone OR OLD.phone_national IS NOT NEW.phone_national);
  UPDATE member_search SET status = NEW.status, json = NEW.json WHERE member_id = NEW.id AND status IS NOT NEW.status;
  UPDATE member_search SET json = NEW.json WHERE member_id = NEW.id AND json IS NOT NEW.json;
  INSERT INTO member_search (workspace_id, status, lcp, term, member_id, json)
    SELECT NEW.workspace_id, NEW.status,
      CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END,
      term, NEW.id, NEW.json
    FROM (SELECT term, lag(term) OVER (ORDER BY term) AS previous
      FROM (SELECT DISTINCT column1 AS term FROM (VALUES
        (lower(NEW.name)),
        (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
        (NEW.email),
        (substr(NEW.phone, 2)),
        (NEW.phone_national))
      WHERE column1 IS NOT NULL AND column1 != ''))
    WHERE (OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone OR OLD.phone_national IS NOT NEW.phone_national);
END;
