DROP TABLE bridge_nodes;
DROP TABLE bridge_leases;
