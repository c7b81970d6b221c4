"""Run every benchmark with its default (small) size: `make bench`. Results in bench/results/*.json."""

from __future__ import annotations

import importlib
import json
import sys

BENCHES = ["bench.w1_locate", "bench.w5_nearest", "bench.w2_reanchor", "bench.w8_validate", "bench.w7_intake"]


def main(names: list[str]) -> None:
    for name in names or BENCHES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        result = module.run()
        print(json.dumps(result, ensure_ascii=False, indent=1))  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
