-- Undo 20261121000008_stage_history: status answers scan stage_runs again.
DROP INDEX stage_runs_succeeded;
