-- Every event on the bus: its id (sorting in arrival order), topic, the time it was received (ms since the epoch,
-- UTC) and the exact payload bytes. topic_key, the topic's first 256 characters, is what the topic index holds.
CREATE TABLE events (
    id VARCHAR(22) NOT NULL PRIMARY KEY,
    topic_key VARCHAR(256) NOT NULL,
    topic VARCHAR(65535) NOT NULL,
    received BIGINT NOT NULL,
    payload BINARY VARYING NOT NULL
);
CREATE INDEX events_by_topic ON events (topic_key, id);
