"""The HTTP service: a FastAPI app (app.py) whose work runs in a pool of worker processes.

`create_app(limits)` builds the app; `diffcompare serve` runs it under uvicorn. Importing this
package is light: the app process never loads torch or SymPy, its workers do.
"""

from __future__ import annotations

from diffcompare.service.config import ServiceLimits

__all__ = ["ServiceLimits"]
