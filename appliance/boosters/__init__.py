"""Gradient-boosting libraries other teams use (XGBoost, LightGBM, CatBoost): optional, never unpickled."""
