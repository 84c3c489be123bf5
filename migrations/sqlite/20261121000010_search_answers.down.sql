-- Undo 20261121000010_search_answers.
DROP TRIGGER search_generation_status;
