-- Song status answers (issue 7, "where is my song?"): the ETA is the median of
-- each stage's newest succeeded runs. Without this index that read scans
-- stage_runs from the newest row until it has enough of one stage, which costs
-- a full scan (≈ 5 ms per stage at 84k runs, growing with every run) whenever
-- a stage has little history; with it, at most the rows asked for are read.
CREATE INDEX stage_runs_succeeded ON stage_runs(stage, id, duration_ms) WHERE state = 'succeeded';
