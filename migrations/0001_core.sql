-- Core schema: tenants, people, SIP credentials, trunks, numbers, call records.
-- Every company-owned row carries company_id; composite foreign keys keep rows of
-- one company from pointing at another company's rows.

CREATE TABLE companies (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    sip_domain  text NOT NULL UNIQUE,
    timezone    text NOT NULL DEFAULT 'Europe/Moscow',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE employees (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    email       text,
    mobile      text,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id)
);

-- Extensions are the company's short numbers; one per employee for now, later also
-- groups, IVRs and queues.
CREATE TABLE extensions (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    ext         text NOT NULL CHECK (ext ~ '^[1-9][0-9]{1,4}$'),
    employee_id bigint NOT NULL,
    PRIMARY KEY (company_id, ext),
    UNIQUE (company_id, employee_id),
    FOREIGN KEY (company_id, employee_id) REFERENCES employees(company_id, id) ON DELETE CASCADE
);

-- SIP credentials: only digest hashes are stored (HA1 = md5(user:realm:password),
-- HA1B = md5(user@realm:realm:password)); the password is shown once at creation.
CREATE TABLE sip_devices (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    employee_id bigint NOT NULL,
    username    text NOT NULL,
    ha1         text NOT NULL,
    ha1b        text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, username),
    FOREIGN KEY (company_id, employee_id) REFERENCES employees(company_id, id) ON DELETE CASCADE
);

-- What Kamailio's auth_db reads: realm = the company's SIP domain.
CREATE VIEW kamailio_subscriber AS
SELECT d.id, d.username, c.sip_domain AS domain, d.ha1, d.ha1b
  FROM sip_devices d
  JOIN companies c ON c.id = d.company_id
  JOIN employees e ON e.company_id = d.company_id AND e.id = d.employee_id
 WHERE d.enabled AND e.enabled;

CREATE TABLE trunks (
    id           bigserial PRIMARY KEY,
    company_id   bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name         text NOT NULL,
    auth_mode    text NOT NULL CHECK (auth_mode IN ('register', 'ip')),
    host         text NOT NULL,
    port         integer NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    username     text,
    -- A carrier's secret must be sent to the carrier, so it cannot be hashed.
    password     text,
    from_domain  text,
    -- Source addresses accepted for inbound calls of an IP-authenticated trunk.
    ip_addresses text[] NOT NULL DEFAULT '{}',
    expires      integer NOT NULL DEFAULT 300,
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    UNIQUE (company_id, name),
    CHECK (auth_mode <> 'register' OR (username IS NOT NULL AND password IS NOT NULL))
);

CREATE TABLE numbers (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    number      text NOT NULL UNIQUE CHECK (number ~ '^[0-9]{3,15}$'),
    trunk_id    bigint NOT NULL,
    target_ext  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, id),
    FOREIGN KEY (company_id, trunk_id) REFERENCES trunks(company_id, id) ON DELETE CASCADE
);

-- One row per call, written once when the call ends.
CREATE TABLE calls (
    id            bigserial PRIMARY KEY,
    company_id    bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    sip_call_id   text NOT NULL,
    direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller        text NOT NULL,
    callee        text NOT NULL,
    caller_employee_id bigint,
    callee_employee_id bigint,
    trunk_id      bigint,
    number_id     bigint,
    started_at    timestamptz NOT NULL,
    answered_at   timestamptz,
    ended_at      timestamptz NOT NULL,
    result        text NOT NULL CHECK (result IN ('answered', 'missed', 'busy', 'failed', 'no_answer')),
    hangup_cause  text NOT NULL,
    sip_code      integer,
    engine_node   text NOT NULL DEFAULT '',
    UNIQUE (sip_call_id),
    CHECK (answered_at IS NULL OR answered_at >= started_at),
    CHECK (ended_at >= started_at)
);
CREATE INDEX calls_company_started_idx ON calls (company_id, started_at DESC);

CREATE TABLE call_legs (
    id          bigserial PRIMARY KEY,
    call_id     bigint NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('caller', 'callee')),
    uri         text NOT NULL,
    started_at  timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at    timestamptz NOT NULL,
    sip_code    integer,
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX call_legs_call_idx ON call_legs (call_id);

-- Kamailio's own tables (schema from kamailio's postgres scripts, versions it checks).
CREATE TABLE version (
    id SERIAL PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);
INSERT INTO version (table_name, table_version) VALUES
    ('version', 1), ('location', 9), ('location_attrs', 1), ('address', 6),
    ('kamailio_subscriber', 7);

CREATE TABLE location (
    id SERIAL PRIMARY KEY NOT NULL,
    ruid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT NULL,
    contact VARCHAR(512) DEFAULT '' NOT NULL,
    received VARCHAR(128) DEFAULT NULL,
    path VARCHAR(512) DEFAULT NULL,
    expires TIMESTAMP WITHOUT TIME ZONE DEFAULT '2030-05-28 21:32:15' NOT NULL,
    q REAL DEFAULT 1.0 NOT NULL,
    callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,
    cseq INTEGER DEFAULT 1 NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    cflags INTEGER DEFAULT 0 NOT NULL,
    user_agent VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(64) DEFAULT NULL,
    methods INTEGER DEFAULT NULL,
    instance VARCHAR(255) DEFAULT NULL,
    reg_id INTEGER DEFAULT 0 NOT NULL,
    server_id INTEGER DEFAULT 0 NOT NULL,
    connection_id INTEGER DEFAULT 0 NOT NULL,
    keepalive INTEGER DEFAULT 0 NOT NULL,
    partition INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT location_ruid_idx UNIQUE (ruid)
);
CREATE INDEX location_account_contact_idx ON location (username, domain, contact);
CREATE INDEX location_expires_idx ON location (expires);
CREATE INDEX location_connection_idx ON location (server_id, connection_id);

CREATE TABLE location_attrs (
    id SERIAL PRIMARY KEY NOT NULL,
    ruid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT NULL,
    aname VARCHAR(64) DEFAULT '' NOT NULL,
    atype INTEGER DEFAULT 0 NOT NULL,
    avalue VARCHAR(512) DEFAULT '' NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL
);

-- permissions module: group 1 = engine nodes, trusted to send calls to devices.
CREATE TABLE address (
    id SERIAL PRIMARY KEY NOT NULL,
    grp INTEGER DEFAULT 1 NOT NULL,
    ip_addr VARCHAR(50) NOT NULL,
    mask INTEGER DEFAULT 32 NOT NULL,
    port INTEGER DEFAULT 0 NOT NULL,  -- kamailio ships SMALLINT; engine ports exceed it
    tag VARCHAR(64)
);
