"""A service command that prints 300 MB, then one last line (tests/test_app_processes.py)."""

import sys

for _ in range(300):
    sys.stdout.write("x" * 1048576)
print()
print("the last line")
