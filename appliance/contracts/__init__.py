"""Data contracts: what a model's input looks like, inferred from training data, checked everywhere."""
