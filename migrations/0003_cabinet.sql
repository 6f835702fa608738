-- The Telegram cabinet: who is who in which company, invites, self-service settings,
-- and an audit log of every change.

CREATE TABLE tg_users (
    tg_id       bigint PRIMARY KEY,
    first_name  text NOT NULL DEFAULT '',
    username    text,
    language    text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ru')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One membership per company and Telegram user; an employee profile is linked when the
-- user joined through an invite (owners and admins may have none).
CREATE TABLE memberships (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    tg_id       bigint NOT NULL REFERENCES tg_users(tg_id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'supervisor', 'employee')),
    employee_id bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, tg_id),
    UNIQUE (company_id, employee_id),
    FOREIGN KEY (company_id, employee_id) REFERENCES employees(company_id, id)
        ON DELETE SET NULL (employee_id)
);
CREATE INDEX memberships_tg_idx ON memberships (tg_id);

CREATE TABLE invites (
    token       text PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    employee_id bigint,
    role        text NOT NULL CHECK (role IN ('admin', 'supervisor', 'employee')),
    created_by  bigint NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_by     bigint,
    FOREIGN KEY (company_id, employee_id) REFERENCES employees(company_id, id) ON DELETE CASCADE
);

-- Employee self-service that routing reads on the next call.
ALTER TABLE employees
    ADD COLUMN dnd boolean NOT NULL DEFAULT false,
    ADD COLUMN forward_mode text NOT NULL DEFAULT 'off'
        CHECK (forward_mode IN ('off', 'always', 'unregistered')),
    ADD CONSTRAINT employees_forward_needs_mobile
        CHECK (forward_mode = 'off' OR mobile IS NOT NULL);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    actor_tg_id bigint,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    old_value   jsonb,
    new_value   jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_company_idx ON audit_log (company_id, at DESC);
