"""The run history store, its views, alerts on repeated failures, threshold tuning and gatekit.toml."""
