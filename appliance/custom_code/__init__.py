"""A team's own feature code (transformer classes, functions), shipped with a spec and run only in a
separate process after an admin trusts exactly those bytes."""
