"""Result data, the decision, errors, value formatting and reproducibility: imports nothing above it."""
