"""Data made fit for strict JSON: a float that JSON cannot hold becomes "+inf", "-inf" or
null (NaN), as the report's one-sided derivatives already are."""

from __future__ import annotations

import math
from typing import Any


def json_ready(data: Any) -> Any:
    """`data` (dicts, lists, tuples, numbers, strings) with every non-finite float replaced:
    a value beyond the dtype's range, as the methods give for 10**400*x, is inf."""
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        return None if math.isnan(data) else "+inf" if data > 0 else "-inf"
    if isinstance(data, dict):
        return {key: json_ready(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [json_ready(value) for value in data]
    return data
