DROP INDEX relay_outbound_webhooks_handled;
DROP INDEX relay_outbound_webhooks_pending;
DROP TABLE relay_outbound_webhooks;
DROP INDEX relay_message_links_chatwoot_id;
DROP TABLE relay_message_links;
DROP TABLE relay_conversations;
DROP INDEX relay_contact_keys_contact;
DROP TABLE relay_contact_keys;
