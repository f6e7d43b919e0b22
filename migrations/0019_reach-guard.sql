-- The always-empty guard table of role conditions (worker/reach/table.ts) takes the word
-- the code uses for whom a role condition lets a caller act on: its reach. Only the name
-- changes: its CHECK `forbidden_by_condition`, which onError answers 403, stays.
ALTER TABLE `access_guard` RENAME TO `reach_guard`;
