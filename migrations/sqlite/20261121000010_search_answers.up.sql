-- Search answers are remembered per generation (molt-search's answer cache):
-- whatever a result shows must move `search_state.generation` when it changes.
-- Titles, artists, aliases and lyrics already do (…000006, through the
-- outbox). A song's status is read when a query runs and queues nothing, so a
-- status change moves the generation here.
CREATE TRIGGER search_generation_status AFTER UPDATE OF status ON songs
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE search_state SET generation = generation + 1;
END;
