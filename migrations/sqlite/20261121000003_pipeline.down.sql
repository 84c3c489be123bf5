DROP INDEX cost_ledger_reserved;
ALTER TABLE cost_ledger DROP COLUMN provider;
ALTER TABLE cost_ledger DROP COLUMN stage;
DROP TABLE budgets;
DROP TABLE prices;
DROP TABLE response_cache;
DROP TABLE escalations;
DROP TABLE stage_outputs;
DROP TABLE stage_runs;
