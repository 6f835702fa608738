-- Inbound scenarios: what a company number does with a client's call.
-- Every step is a target string (pbx/engine/targets.py: "ext:101", "group:sales",
-- "menu:main", "voicemail:101", "forward:79161234567", "message:closed", "hangup"),
-- resolved by name at call time, so renaming or removing an entity is refused while
-- a scenario still points at it (checked by the service, in one place).

CREATE TABLE ring_groups (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    algorithm   text NOT NULL DEFAULT 'ring_all' CHECK (algorithm IN
                  ('sequential', 'cumulative', 'ring_all', 'least_idle', 'random', 'priority')),
    interval_s  integer NOT NULL DEFAULT 15 CHECK (interval_s BETWEEN 5 AND 120),
    timeout_s   integer NOT NULL DEFAULT 60 CHECK (timeout_s BETWEEN 5 AND 600),
    cyclic      boolean NOT NULL DEFAULT false,
    fallback    text NOT NULL DEFAULT 'hangup',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    UNIQUE (company_id, name)
);

CREATE TABLE ring_group_members (
    company_id  bigint NOT NULL,
    group_id    bigint NOT NULL,
    employee_id bigint NOT NULL,
    position    integer NOT NULL CHECK (position BETWEEN 1 AND 100),
    PRIMARY KEY (group_id, employee_id),
    FOREIGN KEY (company_id, group_id) REFERENCES ring_groups(company_id, id) ON DELETE CASCADE,
    FOREIGN KEY (company_id, employee_id) REFERENCES employees(company_id, id) ON DELETE CASCADE
);

-- Weekly hours as {"mon": [["09:00", "18:00"]], ...} in the schedule's time zone;
-- holidays are closed all day; special days replace the weekly hours on that date.
CREATE TABLE schedules (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    weekly      jsonb NOT NULL DEFAULT '{}',
    holidays    date[] NOT NULL DEFAULT '{}',
    special     jsonb NOT NULL DEFAULT '{}',
    override    text CHECK (override IN ('open', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    UNIQUE (company_id, name)
);

CREATE TABLE ivr_menus (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    prompt      text,                       -- audio name; the system prompt when NULL
    options     jsonb NOT NULL DEFAULT '{}', -- {"1": "group:sales", ...}
    timeout_s   integer NOT NULL DEFAULT 5 CHECK (timeout_s BETWEEN 1 AND 60),
    repeats     integer NOT NULL DEFAULT 2 CHECK (repeats BETWEEN 0 AND 10),
    on_timeout  text NOT NULL DEFAULT 'hangup',
    on_invalid  text NOT NULL DEFAULT 'hangup',
    dial_by_ext boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    UNIQUE (company_id, name)
);

-- The number's scenario: an optional greeting, an optional schedule, and where the
-- call goes in and out of hours; `fallback` when the target cannot take the call.
ALTER TABLE numbers
    ADD COLUMN greeting text,
    ADD COLUMN schedule_id bigint,
    ADD COLUMN open_target text,
    ADD COLUMN closed_target text NOT NULL DEFAULT 'hangup',
    ADD COLUMN fallback text NOT NULL DEFAULT 'hangup',
    ADD CONSTRAINT numbers_schedule_fkey FOREIGN KEY (company_id, schedule_id)
        REFERENCES schedules(company_id, id) ON DELETE SET NULL (schedule_id);

-- Voicemail left by callers; the file lives under the media root.
CREATE TABLE voicemails (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    box         text NOT NULL,              -- "101" (personal), a group name, or "common"
    sip_call_id text NOT NULL UNIQUE,
    caller      text NOT NULL,
    number      text NOT NULL DEFAULT '',
    path        text NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    listened_at timestamptz,
    UNIQUE (company_id, id)
);
CREATE INDEX voicemails_company_idx ON voicemails (company_id, created_at DESC);

-- Who hears about missed calls and voicemail, and how: Telegram always (when the
-- employee is linked to a Telegram user), e-mail to employees with an address, SMS to
-- their mobiles only when the company turns it on (it costs money).
ALTER TABLE companies
    ADD COLUMN missed_to_owner boolean NOT NULL DEFAULT true,
    ADD COLUMN alert_email boolean NOT NULL DEFAULT true,
    ADD COLUMN alert_sms boolean NOT NULL DEFAULT false;

-- A call that reached voicemail is its own outcome.
ALTER TABLE calls DROP CONSTRAINT calls_result_check;
ALTER TABLE calls ADD CONSTRAINT calls_result_check
    CHECK (result IN ('answered', 'missed', 'busy', 'failed', 'no_answer', 'voicemail'));
ALTER TABLE calls ADD COLUMN target text NOT NULL DEFAULT '';
