-- A member's invitations, newest first: GET /v1/invitations?memberId= (the admin view's resend).
CREATE INDEX `invitations_by_member` ON `invitations` (`member_id`,`id`);
