-- The shared secret between the SIP edge and the engine nodes (issue 18.6): the edge
-- adds it to every request it relays to an engine, an engine to every call it sends to
-- the edge, and each side refuses the other's address without it. One row, made once
-- with a random value, so every node of an installation reads the same one.
CREATE TABLE edge_secret (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret text NOT NULL CHECK (secret ~ '^[0-9a-f]{32,}$')
);
INSERT INTO edge_secret (secret) VALUES (md5(random()::text || clock_timestamp()::text)
                                         || md5(random()::text || clock_timestamp()::text));
