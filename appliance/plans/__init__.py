"""Scoring plans: a fitted pipeline compiled to NumPy arrays, stored beside its artifact.

A plan answers exactly as its pipeline does (checked when it is compiled), needs neither
scikit-learn nor skops to load, and is read with `allow_pickle=False`, so it can carry data only.
"""
