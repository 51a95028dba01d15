DROP TABLE bridge_integrations;
