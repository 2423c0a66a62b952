"""funcstudio for the project's own tests: a pytest plugin (`plugin.py`, registered as the `pytest11`
entry point `funcstudio`) with a `funcstudio` fixture, the client it yields (`client.py`), the helpers
exported tests use (`compare.py`: `without`, `masked`) and the writer of those tests (`export.py`).

This layer sits beside `cli` (it reuses the CLI's invoke code path). Importing the package costs
nothing: pytest loads the plugin in every session once funcstudio is installed.
"""

from __future__ import annotations

from studio.testing.compare import masked, without

__all__ = ["masked", "without"]
