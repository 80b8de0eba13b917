-- The follow-up report reads a few kinds of event over the whole log (status reports,
-- items between forums, reviews, decisions, the plan) up to a position, and the many
-- activities and cases only in the window of its period.

-- One kind of event without scanning the log.
CREATE INDEX events_type ON events (event_type, position);

-- What was recorded in a window of time. Events arrive in time order, so a BRIN index
-- (a few pages for millions of rows) narrows the read to the blocks of that window.
CREATE INDEX events_recorded_at ON events USING brin (recorded_at);
