-- Derived index rows, kept by the database itself so that no write path can forget them.
-- member_labels: one row per member and label slug in members.labels, with the member's status.
-- member_search: prefix-search terms; `searchTerms` in worker/members/reads.ts lists the same five.

CREATE TRIGGER members_labels_insert AFTER INSERT ON members BEGIN
  INSERT INTO member_labels (member_id, workspace_id, label, status)
    SELECT NEW.id, NEW.workspace_id, value, NEW.status FROM json_each(NEW.labels);
END;
--> statement-breakpoint
CREATE TRIGGER members_labels_update AFTER UPDATE OF labels ON members WHEN OLD.labels IS NOT NEW.labels BEGIN
  DELETE FROM member_labels WHERE member_id = NEW.id;
  INSERT INTO member_labels (member_id, workspace_id, label, status)
    SELECT NEW.id, NEW.workspace_id, value, NEW.status FROM json_each(NEW.labels);
END;
--> statement-breakpoint
CREATE TRIGGER members_status_update AFTER UPDATE OF status ON members WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE member_labels SET status = NEW.status WHERE member_id = NEW.id;
  UPDATE member_search SET status = NEW.status WHERE member_id = NEW.id;
END;
--> statement-breakpoint
CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN
  INSERT OR IGNORE INTO member_search (workspace_id, status, term, member_id)
    SELECT NEW.workspace_id, NEW.status, column1, NEW.id FROM (VALUES
      (lower(NEW.name)),
      (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
      (NEW.email),
      (substr(NEW.phone, 2)),
      (NEW.phone_national))
    WHERE column1 IS NOT NULL AND column1 != '';
END;
--> statement-breakpoint
CREATE TRIGGER members_search_update AFTER UPDATE OF name, email, phone, phone_national ON members BEGIN
  DELETE FROM member_search WHERE member_id = NEW.id;
  INSERT OR IGNORE INTO member_search (workspace_id, status, term, member_id)
    SELECT NEW.workspace_id, NEW.status, column1, NEW.id FROM (VALUES
      (lower(NEW.name)),
      (CASE WHEN instr(NEW.name, ' ') > 0 THEN lower(substr(NEW.name, instr(NEW.name, ' ') + 1)) END),
      (NEW.email),
      (substr(NEW.phone, 2)),
      (NEW.phone_national))
    WHERE column1 IS NOT NULL AND column1 != '';
END;
