-- Every event on the bus: its id (sorting in arrival order), topic, the time it was received (ms since the epoch,
-- UTC) and the exact payload bytes. topic_key, the topic's first 256 characters, is what the topic index holds
-- (a btree entry has a size limit; a topic may be 65,535 bytes). Byte order ("C"): a topic prefix is a range.
CREATE TABLE events (
    id VARCHAR(22) COLLATE "C" NOT NULL PRIMARY KEY,
    topic_key VARCHAR(256) COLLATE "C" NOT NULL,
    topic TEXT COLLATE "C" NOT NULL,
    received BIGINT NOT NULL,
    payload BYTEA NOT NULL
);
CREATE INDEX events_by_topic ON events (topic_key, id);
