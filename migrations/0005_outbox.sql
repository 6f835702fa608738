-- Durable notification outbox: an alert row is written in the same transaction as the
-- fact it reports (a missed call, a voicemail), then delivered by OutboxWorker with
-- retries and backoff. Rows are never deleted by delivery: status shows the outcome.

CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    company_id       bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('telegram', 'email', 'sms')),
    recipient        text NOT NULL CHECK (length(btrim(recipient)) > 0),
    kind             text NOT NULL CHECK (length(kind) > 0),
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    attachment       text,
    -- Chosen by the producer (e.g. "missed:<call id>:tg:<employee id>"), so a fact
    -- reported twice (a retried transaction, two engine nodes) makes one alert.
    dedup_key        text NOT NULL UNIQUE,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- A claimed row belongs to one worker until locked_until; a worker that dies
    -- mid-send leaves the lease to expire and another worker retries the row.
    locked_until     timestamptz,
    claim_token      uuid,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    failed_at        timestamptz,
    CHECK (status <> 'sent' OR sent_at IS NOT NULL),
    CHECK (status <> 'failed' OR failed_at IS NOT NULL)
);

-- What workers scan: pending rows by due time.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
-- What the bot shows: a company's recent alerts.
CREATE INDEX outbox_company_idx ON outbox (company_id, created_at DESC);
