"""Print and save the detection matrix: python scripts/detection_matrix.py [--jobs N] [DEFECT ...]

Exit status 0 when every defect is caught and the clean sandbox passes, 1 otherwise."""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite.matrix.detection import ROOT, render, run_matrix, scenarios_never_failing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("defects", nargs="*", help="defects to try (default: all)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="suite runs side by side, each with its share of the switches (default 2: one per core)",
    )
    parser.add_argument("--output", default=str(ROOT / "reports" / "detection-matrix.md"))
    args = parser.parse_args()
    started = time.monotonic()
    rows = run_matrix(args.defects or None, jobs=args.jobs)
    text = render(rows) + (
        f"\nWall time: {time.monotonic() - started:.1f} s for {len(rows) - 1} switches and the clean "
        f"sandbox, {args.jobs} suite runs side by side\n"
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("# Detection matrix\n\n" + text, encoding="utf-8")
    print(text)
    return 0 if all(row.caught for row in rows) and not scenarios_never_failing(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
