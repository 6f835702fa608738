-- Company audio: greetings, IVR prompts, voicemail greetings, music on hold, ringback
-- melodies and information messages. The files live under <data_dir>/media/; the row
-- says what they are. Rows are inserted only after the files are in place, and the
-- files are removed when the row goes.

CREATE TABLE audio_files (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN
                    ('greeting', 'ivr', 'voicemail_greeting', 'moh', 'ringback', 'message')),
    name        text NOT NULL CHECK (length(btrim(name)) > 0 AND length(name) <= 64),
    duration_ms integer NOT NULL CHECK (duration_ms > 0),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    -- Relative to the media root, without extension: "<company_id>/<id>" (.wav master,
    -- .8 PCMA and .0 PCMU for the media relay, .ogg Opus for Telegram).
    base_path   text NOT NULL,
    created_by  bigint REFERENCES tg_users(tg_id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Lets IVR menus, queues and greetings point at a company's own audio only.
    UNIQUE (company_id, id)
);
-- One name per company, whatever the letter case ("Greeting" and "greeting" clash).
CREATE UNIQUE INDEX audio_files_name_idx ON audio_files (company_id, lower(name));
