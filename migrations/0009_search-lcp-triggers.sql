-- member_search with `lcp`: how many leading characters each term shares with the member's
-- next smaller term (0 for the smallest), counted up to 100, the longest search. A search
-- for a prefix of length L lists a member at the one matching term with lcp < L (see
-- worker/members/reads.ts). The terms are those of 0001: lowercased name, the name after
-- its first space, email, phone digits and the national number.
-- lcp is the first position where the two terms differ, less one: json_each walks 1..100
-- in order and LIMIT 1 stops it there, so a term costs lcp + 1 rows read, not 100.

CREATE TRIGGER members_status_update AFTER UPDATE OF status ON members WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE member_labels SET status = NEW.status WHERE member_id = NEW.id;
  UPDATE member_search SET status = NEW.status WHERE member_id = NEW.id;
END;
--> statement-breakpoint
CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN
  INSERT INTO member_search (workspace_id, status, lcp, term, member_id)
    SELECT NEW.workspace_id, NEW.status,
      CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END,
      term, NEW.id
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
CREATE TRIGGER members_search_update AFTER UPDATE OF name, email, phone, phone_national ON members BEGIN
  DELETE FROM member_search WHERE member_id = NEW.id;
  INSERT INTO member_search (workspace_id, status, lcp, term, member_id)
    SELECT NEW.workspace_id, NEW.status,
      CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
        WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END,
      term, NEW.id
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
-- Existing members: their terms again, with lcp.
DELETE FROM member_search;
--> statement-breakpoint
INSERT INTO member_search (workspace_id, status, lcp, term, member_id)
  SELECT workspace_id, status,
    CASE WHEN previous IS NULL THEN 0 ELSE coalesce((SELECT value - 1 FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100]')
      WHERE substr(term, 1, value) != substr(previous, 1, value) LIMIT 1), 100) END,
    term, member_id
  FROM (SELECT *, lag(term) OVER (PARTITION BY member_id ORDER BY term) AS previous
    FROM (
      SELECT workspace_id, status, id AS member_id, lower(name) AS term FROM members
      UNION SELECT workspace_id, status, id, CASE WHEN instr(name, ' ') > 0 THEN lower(substr(name, instr(name, ' ') + 1)) END FROM members
      UNION SELECT workspace_id, status, id, email FROM members
      UNION SELECT workspace_id, status, id, substr(phone, 2) FROM members
      UNION SELECT workspace_id, status, id, phone_national FROM members)
    WHERE term IS NOT NULL AND term != '');
