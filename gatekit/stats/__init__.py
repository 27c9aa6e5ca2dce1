"""Statistical formulas: confidence intervals (DeLong, bootstrap) and drift statistics."""
