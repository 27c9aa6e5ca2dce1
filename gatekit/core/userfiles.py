"""Import a user's Python file (custom expectations, custom metrics) and say where it broke.

One path for every folder of user code a policy names, so they behave alike: the file runs as its own module
under a gatekit-owned name, no ``__pycache__`` is written into the user's folder, and an error is located at
the innermost line of that file.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType


def exec_user_file(path: Path, module_name: str) -> ModuleType:
    """Run the Python file ``path`` as the module ``module_name`` and return it.

    The module is put in ``sys.modules`` before it runs (dataclasses, pydantic and pickling look it up while
    it defines its classes) and stays there; the caller decides whether to keep it. Bytecode is not written.

    Parameters
    ----------
    path : pathlib.Path
        The ``.py`` file.
    module_name : str
        The name it runs under (a gatekit prefix plus the file's stem, so it never shadows an installed module).

    Returns
    -------
    types.ModuleType

    Raises
    ------
    ImportError
        ``path`` cannot be loaded as a Python file.
    BaseException
        Whatever the file raises while it runs (``SyntaxError``, ``SystemExit`` ...), unchanged; on any error the
        module is removed from ``sys.modules`` again.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the user's folder
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        sys.dont_write_bytecode = before
    return module


def error_line(exc: BaseException, path: Path) -> int | None:
    """Return the line of ``path`` where ``exc`` was raised (innermost frame in that file), or None.

    Parameters
    ----------
    exc : BaseException
        The error the file raised (a ``SyntaxError`` carries its own line).
    path : pathlib.Path
        The user's file.

    Returns
    -------
    int or None
        1-based line number, None when no frame of the traceback is in ``path``.
    """
    if isinstance(exc, SyntaxError) and exc.lineno is not None and exc.filename and \
            Path(exc.filename).resolve() == path.resolve():
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno  # the innermost frame inside the file is where it broke
    return line
