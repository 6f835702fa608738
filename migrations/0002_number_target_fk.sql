-- A number routes to an extension of its own company: the database refuses a
-- target in another company. Removing the extension leaves the number unrouted.
ALTER TABLE numbers
    ADD CONSTRAINT numbers_target_ext_fkey
    FOREIGN KEY (company_id, target_ext) REFERENCES extensions (company_id, ext)
    ON DELETE SET NULL (target_ext);
