DROP TABLE cost_ledger;
DROP TABLE jobs;
