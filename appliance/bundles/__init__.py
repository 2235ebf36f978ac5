"""Signed model bundles for boxes without a network: signing keys, trust, export and import."""
