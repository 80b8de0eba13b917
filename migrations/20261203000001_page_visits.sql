-- When each person last looked at a page that marks what is new to them (the council's
-- open items between forums): what arrived after that is shown as new on their next visit.
-- Not part of the log; losing it only marks fewer things as new.

CREATE TABLE page_visits (
    user_id     uuid        NOT NULL,
    page        text        NOT NULL CHECK (length(page) BETWEEN 1 AND 100),
    visited_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, page)
);
