"""Write tests/slow_tests.txt from a pytest ``--durations=0`` log: tests whose setup + call + teardown take at least
THRESHOLD seconds (parametrized cases grouped by their function when any case is slow). With ``--add`` the entries
already in the file are kept (for a log of a ``--quick`` run, which has no timings of the slow tests).

    python scripts/slow_tests.py LOG tests/slow_tests.txt THRESHOLD [--add]
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

log, out, threshold = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
keep = "--add" in sys.argv[4:]
total = defaultdict(float)
for line in open(log):
    m = re.match(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", line)
    if m:
        total[m.group(3)] += float(m.group(1))


def function_of(test: str) -> str:
    return test.split("[")[0]


slow = {function_of(t) for t, s in total.items() if s >= threshold}
if keep and out.exists():
    slow |= {ln.strip() for ln in out.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
quick_sum = sum(s for t, s in total.items() if function_of(t) not in slow)
print(f"{len(slow)} slow entries; the rest of this log sums to {quick_sum:.0f} s of test time", file=sys.stderr)
out.write_text(f"# Tests marked slow (conftest.py): each took >= {threshold:g} s (setup + call + teardown) in a run on a\n"
               "# 2-vCPU machine under load. Parametrized tests are listed by function. Regenerate after a run with\n"
               "#   python -m pytest tests --durations=0 > log; python scripts/slow_tests.py log tests/slow_tests.txt 1.5 [--add]\n"
               + "\n".join(sorted(slow)) + "\n")
