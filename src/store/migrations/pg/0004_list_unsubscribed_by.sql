-- 0004_list_unsubscribed_by.sql (PostgreSQL): who left a list membership. 'bounce' when the
-- hygiene policy unsubscribed the contact (a hard bounce, an escalated soft one, a
-- complaint), 'api' or 'import' when a person did; NULL while subscribed and for rows older
-- than this migration. Re-verification subscribes the contact again to the lists a bounce
-- took it off, never to those it left itself.
ALTER TABLE list_members ADD COLUMN unsubscribed_by TEXT;
