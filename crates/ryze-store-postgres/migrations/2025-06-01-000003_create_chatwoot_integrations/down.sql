DROP TABLE chatwoot_integrations;
