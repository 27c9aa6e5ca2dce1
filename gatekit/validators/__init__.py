"""Runtimes of the validation libraries gatekit builds on: Great Expectations, PII scan, licences."""
