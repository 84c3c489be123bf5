-- Undo 20261121000007_query_log. Bug reports stay in the event log (user.bug_report).
DROP TABLE query_log;
