#!/usr/bin/python3
"""check_profile.py: checks a --profile result against the guest ELF it profiled.

    check_profile.py FOLDED GUEST.elf [--stripped]

Every line of FOLDED must be "frame;frame;... COUNT" with a positive count, every frame must
be a function symbol of GUEST.elf (or, for a stripped guest, a hex address inside the ELF's
loaded range), and FOLDED.svg must be well-formed XML whose root is <svg>. Prints the sample
total and exits 0 if all holds; says what failed and exits 1 otherwise.
"""
import subprocess
import sys
import xml.etree.ElementTree as ElementTree


def elf_facts(path):
    symbols = set()
    for line in subprocess.run(["nm", "--defined-only", path], capture_output=True,
                               text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols.add(parts[2])
    low, high = None, None
    for line in subprocess.run(["readelf", "-lW", path], capture_output=True,
                               text=True).stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            start, size = int(parts[2], 16), int(parts[5], 16)  # VirtAddr, MemSiz
            low = start if low is None else min(low, start)
            high = start + size if high is None else max(high, start + size)
    return symbols, low, high


def main():
    folded, guest = sys.argv[1], sys.argv[2]
    stripped = "--stripped" in sys.argv[3:]
    symbols, low, high = elf_facts(guest)
    total, problems = 0, []
    with open(folded) as lines:
        for number, line in enumerate(lines, 1):
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit() or int(count) <= 0:
                problems.append(f"line {number} is not 'stack count': {line!r}")
                continue
            total += int(count)
            for frame in stack.split(";"):
                if frame.startswith("0x"):
                    address = int(frame, 16)
                    if low is None or not low <= address < high:
                        problems.append(f"line {number}: {frame} is outside the ELF")
                elif stripped or frame not in symbols:
                    problems.append(f"line {number}: {frame} is not a symbol of {guest}")
    try:
        root = ElementTree.parse(folded + ".svg").getroot()
        if not root.tag.endswith("svg"):
            problems.append(f"{folded}.svg's root is <{root.tag}>, not <svg>")
    except ElementTree.ParseError as error:
        problems.append(f"{folded}.svg is not well-formed XML: {error}")
    if total == 0:
        problems.append("no samples at all")
    for problem in problems[:10]:
        print(problem)
    print(f"{total} samples")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
