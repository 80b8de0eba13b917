-- The day each person's daily digest was last written (or found nothing to say): the
-- digest is written in the first run after 07:00 in Växjö, once a day, and what becomes due
-- later that day waits for the next morning's.
CREATE TABLE mail_digests (
    user_id  uuid NOT NULL,
    day      date NOT NULL,
    PRIMARY KEY (user_id, day)
);
