-- Dead letters: messages a worker gave up on after the bus's attempt limit. Kept so that nothing the
-- pipeline accepted is dropped silently; listed per project through the API.
CREATE TABLE dead_letters (
    event_id        UUID PRIMARY KEY,
    project_id      TEXT NOT NULL,
    original_topic  TEXT NOT NULL,
    consumer_group  TEXT NOT NULL,
    message_key     TEXT NOT NULL,
    payload         TEXT NOT NULL,         -- the message as received, which may not be json at all
    error           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    coordinates     TEXT NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX dead_letters_by_project_newest ON dead_letters (project_id, occurred_at DESC);
