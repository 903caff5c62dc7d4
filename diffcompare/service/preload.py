"""Imported once by the pool's forkserver, so every worker forks with the engine loaded.

Imports only, and SymPy-only warm-up: no torch computation runs before the fork (torch's
thread pools do not survive one), so each worker still runs its own torch warm-up.
"""

from __future__ import annotations

import matplotlib.backends.backend_agg  # noqa: F401  (the plots' PNG and SVG writers)
import matplotlib.backends.backend_svg  # noqa: F401
import matplotlib.figure  # noqa: F401
import torch._dynamo  # noqa: F401  (torch imports it lazily on the first traced op: seconds)
import torch.func  # noqa: F401

from diffcompare.service import tasks

tasks.parse_task({"expr": "sqrt(x)/(1+x^2)"})
