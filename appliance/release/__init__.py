"""The release door: every change of any alias passes through this package.

Promotion requests and approvals (`requests`), rollback to the last known-good champion
(`rollback`), a canary's conclusion (`canary`) and a retrain's challenger (`challenger`) all end in
`moves`, the only code that writes an alias; `rules` says when a change needs a second person's
approval. A test keeps every other module away from the alias-writing statements.
"""
