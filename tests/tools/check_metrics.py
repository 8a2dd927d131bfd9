#!/usr/bin/python3
"""check_metrics.py: checks a --metrics stream against the --stats the same run printed.

    check_metrics.py METRICS.jsonl STATS

Every line of METRICS.jsonl must be one JSON object; there must be at least three; every
counter (all but switch_port, a port number) must never decrease from line to line; and the
last line, flattened to "SECTION NAME COUNTER VALUE", must equal STATS line for line. Exits 0
if all holds; says what failed and exits 1 otherwise.
"""
import json
import sys


def flatten(document):
    lines = []
    for section, names in document.items():
        if section == "unix_time_ns":
            continue
        for name, counters in names.items():
            for counter, value in counters.items():
                lines.append(f"{section} {name} {counter} {value}")
    return lines


def main():
    with open(sys.argv[1]) as stream:
        documents = [json.loads(line) for line in stream]
    with open(sys.argv[2]) as stats:
        printed = [line.rstrip("\n") for line in stats]
    problems = []
    if len(documents) < 3:
        problems.append(f"only {len(documents)} lines in the stream")
    previous = {}
    for number, document in enumerate(documents, 1):
        for line in flatten(document):
            key, value = line.rsplit(" ", 1)
            if key.endswith(" switch_port"):
                continue
            if int(value) < previous.get(key, 0):
                problems.append(f"line {number}: {key} went down to {value}")
            previous[key] = int(value)
    if documents and flatten(documents[-1]) != printed:
        last = set(flatten(documents[-1]))
        problems.append("the last line differs from --stats: "
                        f"{sorted(set(printed) ^ last)[:6]}")
    for problem in problems[:10]:
        print(problem)
    print(f"{len(documents)} lines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
