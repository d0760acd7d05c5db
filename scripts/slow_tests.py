"""Write tests/slow_tests.txt from a pytest ``--durations=0`` log: tests whose setup + call + teardown take at least
THRESHOLD seconds (parametrized cases grouped by their function when any case is slow)."""
import re, sys
from collections import defaultdict
log, out, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
total = defaultdict(float)
for line in open(log):
    m = re.match(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", line)
    if m:
        total[m.group(3)] += float(m.group(1))
slow = sorted({t.split("[")[0] if "[" in t else t for t, s in total.items() if s >= threshold})
quick_sum = sum(s for t, s in total.items() if (t.split("[")[0] if "[" in t else t) not in slow)
print(f"{len(slow)} slow entries; the rest sums to {quick_sum:.0f} s of test time", file=sys.stderr)
with open(out, "w") as f:
    f.write(f"# Tests marked slow (conftest.py): each took >= {threshold:g} s (setup + call + teardown) in a full run on a\n"
            "# 2-vCPU AMD EPYC (AVX2). Parametrized tests are listed by function. Regenerate after a full run with\n"
            "#   python -m pytest tests --durations=0 > log; python scripts/slow_tests.py log tests/slow_tests.txt 2\n")
    f.write("\n".join(slow) + "\n")
