-- What pages read to tell whether a part rendered earlier still holds (see
-- src/web/pages/rendered.rs).
--
-- A projection's generation counts the batches (and rebuilds) that changed its tables. A
-- batch that only moved the checkpoint over events the projection ignores leaves it where it
-- was.
ALTER TABLE projection_checkpoints ADD COLUMN generation bigint NOT NULL DEFAULT 0;

-- Erasure destroys keys outside the projections. The keys destroyed are counted here, in
-- the erasure's own transaction, so that a page can tell in one row whether any key was
-- destroyed since it rendered a part (a count over data_keys would read the whole table
-- whenever the planner has no statistics on it).
CREATE TABLE key_destructions (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    destroyed  bigint  NOT NULL
);
INSERT INTO key_destructions (destroyed)
SELECT count(*) FROM data_keys WHERE destroyed_at IS NOT NULL;
