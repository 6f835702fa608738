"""Plans, options and billing (issue 6): the catalogue as data, money rules, limits."""
