-- Undo 20261121000011_search_letters.
DROP TABLE search_letters;
