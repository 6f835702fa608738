-- Call recording (seeds 000/001/004): total or selective, a notice to the caller, files
-- compressed (OGG/Opus) under a per-company quota with extra packs and retention.

ALTER TABLE companies
    ADD COLUMN recording_mode text NOT NULL DEFAULT 'off'
        CHECK (recording_mode IN ('off', 'all', 'selective')),
    ADD COLUMN recording_notice boolean NOT NULL DEFAULT true,
    -- The plan's quota (issue 6 sets it from the catalogue); packs add 5 GB each.
    ADD COLUMN storage_quota_mb integer NOT NULL DEFAULT 1024 CHECK (storage_quota_mb >= 0),
    -- Seed 000's other way to count: "N days but at most M minutes" (NULL: no cap).
    ADD COLUMN storage_max_minutes integer CHECK (storage_max_minutes > 0),
    ADD COLUMN storage_packs integer NOT NULL DEFAULT 0 CHECK (storage_packs BETWEEN 0 AND 9),
    ADD COLUMN storage_auto_pack boolean NOT NULL DEFAULT false,
    ADD COLUMN retention_days integer NOT NULL DEFAULT 90
        CHECK (retention_days BETWEEN 1 AND 366),
    -- Whether employees may listen to their own calls' recordings (supervisors and
    -- above always may, within what they see).
    ADD COLUMN employee_recordings boolean NOT NULL DEFAULT false;

-- Selective recording: an employee (per direction), a ring group or a company number.
CREATE TABLE recording_rules (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('employee', 'group', 'number')),
    ref_id      bigint NOT NULL,
    inbound     boolean NOT NULL DEFAULT true,
    outbound    boolean NOT NULL DEFAULT true,
    UNIQUE (company_id, kind, ref_id),
    CHECK (inbound OR outbound)
);

-- One file per recorded call. Linked to its call record by the SIP Call-ID: the file
-- is finished (encoded) after the call, so either may be written first.
CREATE TABLE recordings (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    sip_call_id text NOT NULL UNIQUE,
    path        text NOT NULL,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    seconds     real NOT NULL CHECK (seconds >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_company_created_idx ON recordings (company_id, created_at);

-- What the storage did on its own (a pack added when full, oldest files deleted,
-- retention), with dates: the owner sees it, and billing (issue 6) reads packs added.
CREATE TABLE storage_events (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('pack_added', 'pack_removed', 'quota_deleted',
                                               'retention_deleted', 'quota_full')),
    count       integer NOT NULL DEFAULT 1,
    bytes       bigint NOT NULL DEFAULT 0
);
CREATE INDEX storage_events_company_idx ON storage_events (company_id, at DESC);
