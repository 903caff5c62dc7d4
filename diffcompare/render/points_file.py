"""Every point of a sweep, written to a file: JSON Lines (one object per point) or NPZ (one
NumPy array per column), chosen by the file's suffix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import torch

from diffcompare.errors import UsageError

SUFFIXES = (".jsonl", ".npz")


class PointsWriter:
    """Collects batches of per-point arrays (as sweep's `keep` callback) and writes them."""

    def __init__(self, path: str | Path, variables: Sequence[str], wrt: Sequence[str]) -> None:
        self.path = Path(path)
        if self.path.suffix not in SUFFIXES:
            raise UsageError(f"--output {path}: the file name must end in {' or '.join(SUFFIXES)}")
        self.variables, self.wrt = list(variables), list(wrt)
        self._columns: dict[str, list[np.ndarray]] = {}
        self._file: IO[str] | None = None

    def __enter__(self) -> PointsWriter:
        try:
            if self.path.suffix == ".jsonl":
                self._file = self.path.open("w", encoding="utf-8")
            else:
                self.path.open("wb").close()  # fail now, not after the sweep
        except OSError as error:
            raise UsageError(f"--output {self.path}: {error.strerror}") from None
        return self

    def __call__(self, batch: dict[str, torch.Tensor]) -> None:
        arrays = {name: t.detach().cpu().numpy() for name, t in batch.items()}
        if self._file is None:
            for name, array in arrays.items():
                self._columns.setdefault(name, []).append(array)
            return
        for i in range(arrays["at"].shape[0]):
            record: dict[str, Any] = {
                "at": dict(zip(self.variables, arrays["at"][i].tolist(), strict=True)),
                "defined": bool(arrays["defined"][i]),
                "on_edge": bool(arrays["on_edge"][i]),
            }
            for name, array in arrays.items():
                if name.endswith(("_value", "_bound")):
                    record[name] = {
                        w: _json(v) for w, v in zip(self.wrt, array[i].tolist(), strict=True)
                    }
            self._file.write(json.dumps(record, allow_nan=False) + "\n")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
        elif kind is None:
            arrays = {name: np.concatenate(parts) for name, parts in self._columns.items()}
            arrays["variables"] = np.array(self.variables)
            arrays["wrt"] = np.array(self.wrt)
            np.savez(self.path, **arrays)  # type: ignore[arg-type]


def _json(value: float) -> float | None:
    return value if np.isfinite(value) else None
