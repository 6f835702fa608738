-- Plans, extras, options and statements (issue 6). The plan catalogue itself is data
-- in YAML (pbx/billing/catalogues); the database keeps what each company has and, via
-- triggers, every change with its time, which is what statements are computed from.

-- NULL plan: an operator-provisioned company outside billing (no limits, no fees).
ALTER TABLE companies
    ADD COLUMN plan text,
    -- A block stops calls; seed 001: charged per day unless the reason is non-payment.
    ADD COLUMN blocked text CHECK (blocked IN ('customer', 'operator', 'nonpayment')),
    ADD COLUMN sms_auto_renew boolean NOT NULL DEFAULT true,
    -- Concurrent calls per company number the plan (with bought channels) allows; the
    -- engine answers busy beyond it. NULL: unlimited. Kept by the billing service.
    ADD COLUMN channels_per_number integer CHECK (channels_per_number > 0),
    -- SMS alerts a month the plan includes (NULL: not counted) and the size of a pack
    -- bought when they run out (NULL: none sold); kept by the billing service.
    ADD COLUMN sms_monthly integer CHECK (sms_monthly >= 0),
    ADD COLUMN sms_pack integer CHECK (sms_pack > 0);

-- Units bought beyond the plan, in packs of the limit's `step` (recording storage packs
-- stay in companies.storage_packs, where the storage code adds them when full).
CREATE TABLE company_extras (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind <> 'storage_mb'),
    packs       integer NOT NULL CHECK (packs > 0),
    PRIMARY KEY (company_id, kind)
);

-- Paid options switched on (included options are on by the plan, unavailable never).
CREATE TABLE company_options (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    option      text NOT NULL,
    PRIMARY KEY (company_id, option)
);

-- The billing history: from `at`, `item` has `quantity`. Items: plan:<id>, extra:<kind>,
-- option:<id>, block:<reason> (1 while blocked). Written by the triggers below only.
CREATE TABLE billing_changes (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    item        text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity >= 0)
);
CREATE INDEX billing_changes_company_idx ON billing_changes (company_id, at);

-- SMS sent per calendar month (company time zone) and packs bought for it.
CREATE TABLE sms_usage (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    month       date NOT NULL,
    sent        integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
    packs       integer NOT NULL DEFAULT 0 CHECK (packs >= 0),
    PRIMARY KEY (company_id, month)
);

-- A closed month: the lines as shown, frozen (prices may change later).
CREATE TABLE statements (
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    month       date NOT NULL,
    catalogue   text NOT NULL,
    lines       jsonb NOT NULL,
    net         numeric(14, 2) NOT NULL,
    vat         numeric(14, 2) NOT NULL,
    gross       numeric(14, 2) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, month)
);

CREATE FUNCTION billing_log(company bigint, item text, quantity integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO billing_changes (company_id, item, quantity) VALUES (company, item, quantity)
$$;

CREATE FUNCTION billing_companies_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.plan IS DISTINCT FROM NEW.plan AND OLD.plan IS NOT NULL THEN
            PERFORM billing_log(NEW.id, 'plan:' || OLD.plan, 0);
        END IF;
        IF OLD.blocked IS DISTINCT FROM NEW.blocked AND OLD.blocked IS NOT NULL THEN
            PERFORM billing_log(NEW.id, 'block:' || OLD.blocked, 0);
        END IF;
    END IF;
    IF NEW.plan IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.plan IS DISTINCT FROM NEW.plan) THEN
        PERFORM billing_log(NEW.id, 'plan:' || NEW.plan, 1);
    END IF;
    IF NEW.blocked IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.blocked IS DISTINCT FROM NEW.blocked) THEN
        PERFORM billing_log(NEW.id, 'block:' || NEW.blocked, 1);
    END IF;
    IF (TG_OP = 'INSERT' AND NEW.storage_packs > 0)
       OR (TG_OP = 'UPDATE' AND OLD.storage_packs IS DISTINCT FROM NEW.storage_packs) THEN
        PERFORM billing_log(NEW.id, 'extra:storage_mb', NEW.storage_packs);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER companies_billing AFTER INSERT OR UPDATE OF plan, blocked, storage_packs
    ON companies FOR EACH ROW EXECUTE FUNCTION billing_companies_log();

CREATE FUNCTION billing_extras_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM billing_log(OLD.company_id, 'extra:' || OLD.kind, 0);
    ELSE
        PERFORM billing_log(NEW.company_id, 'extra:' || NEW.kind, NEW.packs);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER company_extras_billing AFTER INSERT OR UPDATE OR DELETE
    ON company_extras FOR EACH ROW EXECUTE FUNCTION billing_extras_log();

CREATE FUNCTION billing_options_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM billing_log(OLD.company_id, 'option:' || OLD.option, 0);
    ELSE
        PERFORM billing_log(NEW.company_id, 'option:' || NEW.option, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER company_options_billing AFTER INSERT OR DELETE
    ON company_options FOR EACH ROW EXECUTE FUNCTION billing_options_log();
