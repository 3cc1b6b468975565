-- The latest invitation of a member (Admin > Users row actions).
CREATE INDEX invitations_member ON invitations (member_id, id);
