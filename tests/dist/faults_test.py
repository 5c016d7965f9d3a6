#!/usr/bin/env python3
"""A process of a data-parallel run that dies or stops mid-epoch ends the whole run, with a message saying so, within
a bounded time instead of leaving the others waiting: `faults_test.py mpirun failing_process`."""
import subprocess
import sys
import time

mpirun, program = sys.argv[1], sys.argv[2]
failures = 0


def run(failure, expected, longest_seconds):
    global failures
    start = time.monotonic()
    try:
        result = subprocess.run([mpirun, "-np", "2", "--oversubscribe", program, failure], capture_output=True,
                                text=True, timeout=120)
    except subprocess.TimeoutExpired:
        print(f"FAIL {failure}: the run was still going after 120 s")
        failures += 1
        return
    seconds = time.monotonic() - start
    output = result.stdout + result.stderr
    problems = []
    if "process 1 fails now" not in output:
        problems.append("process 1 never reached its failure")
    if result.returncode == 0:
        problems.append("mpirun exited with status 0")
    for text in expected:
        if text not in output:
            problems.append(f"the output lacks {text!r}")
    if seconds > longest_seconds:
        problems.append(f"it took {seconds:.1f} s, more than {longest_seconds} s")
    if problems:
        failures += 1
        print(f"FAIL {failure}: " + "; ".join(problems) + "\n--- output:\n" + output)
    else:
        print(f"ok   {failure}: mpirun exited with status {result.returncode} after {seconds:.1f} s")


# A dead process: mpirun sees it go and ends the other at once.
run("kill", ["exited on signal 9"], 30)
# A stopped one: the other waits in its next collective until the 2-second timeout, then ends itself and mpirun ends
# the stopped one.
run("stop", ["xg::dist: process 0 of 2 has waited", "in sum for the other processes"], 30)
# One that leaves with an error status while the other waits for it: mpirun sees the status and ends the run.
run("exit", ["exited with non-zero status"], 30)
print(f"{3 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
