"""Switch between gatekit's fast paths and the libraries' plain paths (for verification).

gatekit computes some figures faster than calling the library the obvious way: Great Expectations
validates only the columns its expectations read, PSI bins a sorted reference, the report's ROC curve is
drawn without scikit-learn's input checks. Each fast path gives the same values; with the environment
variable ``GATEKIT_REFERENCE_PATHS=1`` every one of them takes the plain path instead, so
``benchmarks/compare.py`` can show that both give identical observed values.
"""

from __future__ import annotations

import os


def reference_paths() -> bool:
    """Tell whether ``GATEKIT_REFERENCE_PATHS=1`` asks for the libraries' plain paths."""
    return os.environ.get("GATEKIT_REFERENCE_PATHS") == "1"
