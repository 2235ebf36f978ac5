"""Vigil: a single-node MLOps appliance for scikit-learn models."""

__version__ = "0.1.0"
