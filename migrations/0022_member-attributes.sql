-- Custom attributes of members (issue 21): one JSON text column, null when a member has
-- none. On a database whose lean-members upgrade (0017) has not swapped yet this is the
-- old table: the swap (worker/upgrades/lean-members.ts) adds the column to the new one and
-- carries over the attributes written meanwhile.
ALTER TABLE `members` ADD `attributes` text;
