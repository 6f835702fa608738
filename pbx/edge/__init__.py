"""The SIP edge: Kamailio's config, generated from a template, and its supervisor."""
