ALTER TABLE `outbox` ADD `member_id` text;--> statement-breakpoint
-- Messages stored before they named their member: the member holding the address now, as
-- the best guess of whom they were for (worker/outbox/routes.ts also judges by the holder).
UPDATE `outbox` SET `member_id` = (
  SELECT `members`.`id` FROM `members`
  WHERE `members`.`workspace_id` = `outbox`.`workspace_id`
    AND (`members`.`email` = `outbox`.`to` OR `members`.`phone` = `outbox`.`to`)
  LIMIT 1
) WHERE `member_id` IS NULL;
