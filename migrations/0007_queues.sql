-- Call queues (seed 002: "очередь"): callers wait with music and hear their position;
-- the agents are a ring group's members; the longest waiting caller gets the next
-- free agent; a caller may press 1 to be called back instead of waiting.
CREATE TABLE queues (
    id           bigserial PRIMARY KEY,
    company_id   bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    group_id     bigint NOT NULL,
    max_wait_s   integer NOT NULL DEFAULT 300 CHECK (max_wait_s BETWEEN 10 AND 3600),
    agent_ring_s integer NOT NULL DEFAULT 20 CHECK (agent_ring_s BETWEEN 5 AND 120),
    announce_s   integer NOT NULL DEFAULT 30 CHECK (announce_s BETWEEN 10 AND 600),
    callback     boolean NOT NULL DEFAULT true,
    fallback     text NOT NULL DEFAULT 'hangup',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    UNIQUE (company_id, name),
    FOREIGN KEY (company_id, group_id) REFERENCES ring_groups(company_id, id)
);
