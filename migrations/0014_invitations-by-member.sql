-- A member's invitations, newest first: GET /v1/invitations?memberId= (the admin view's resend).
CREATE INDEX `invitations_by_member` ON `invitations` (`member_id`,`id`);
--> statement-breakpoint
-- Archiving an invitee now revokes their pending invitation (worker/members/writes.ts); those
-- archived before kept theirs, which still listed as pending and refused a new invitation.
UPDATE `invitations` SET `status` = 'revoked', `revoked_at` = `updated_at`
  WHERE `status` = 'pending' AND `member_id` IN (SELECT `id` FROM `members` WHERE `status` = 'archived');
