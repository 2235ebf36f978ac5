"""Who may do what: users, roles and the check every operation passes through."""
