#!/usr/bin/python3
"""near_native_report.py: figures measured beside a baseline, as ratios with their spread.

    near_native_report.py ROUNDS.tsv [--figures near_native|polling] [--json FILE]
                          [--cpu MODEL] [--cpus N] [--options TEXT]

ROUNDS.tsv has one line per measurement: FIGURE, SYSTEM (baseline or ringvisor), ROUND, VALUE,
tab-separated. For each figure this prints the median, minimum and maximum of both systems, the
ratio of the medians, the spread of the per-round ratios (each round's Ringvisor value over the
same round's baseline), and whether the median ratio meets its target. --json writes all of it,
every round included. Standard library only.

--figures names the set: near_native (bench/near_native.sh: the guest beside the host's own
figure, each target strict) or polling (bench/polling.sh: Ringvisor polling beside Ringvisor with
--poll 0; the target is "not slower", and a median below it that the per-round ratios still
reach is "within the spread", the rounds' noise, not a loss).
"""
import argparse
import json
import statistics
import sys

# name, what it is, unit, baseline, target ratio, whether more is better
FIGURE_SETS = {
    "near_native": [
        ("receive", "guest receives, one TCP stream, TAP", "Gbit/s", "veth", 0.9, True),
        ("send", "guest sends, one TCP stream, TAP", "Gbit/s", "veth", 0.9, True),
        ("share", "guest to guest over share, one stream", "Gbit/s", "host loopback", 1.0, True),
        ("ping", "ping round trip, host to guest (average)", "ms", "veth", 2.0, False),
        ("udp_echo", "UDP echo, 64 bytes, one outstanding", "transactions/s", "veth", 0.5, True),
    ],
    "polling": [
        ("rate_test", "UDP rate test, a guest just started, 1 s", "transactions/s", "--poll 0",
         1.0, True),
        ("udp_echo", "UDP echo, 64 bytes, one outstanding", "transactions/s", "--poll 0", 1.0,
         True),
        ("ping", "ping every 10 ms, round trip (average)", "ms", "--poll 0", 1.0, False),
        ("receive", "guest receives, one TCP stream, TAP", "Gbit/s", "--poll 0", 1.0, True),
        ("send", "guest sends, one TCP stream, TAP", "Gbit/s", "--poll 0", 1.0, True),
    ],
}
# Sets whose targets allow the rounds' own noise (see the module's text).
WITHIN_SPREAD_SETS = {"polling"}
FIGURES = FIGURE_SETS["near_native"]


def read_rounds(path):
    values = {}
    with open(path) as rows:
        for number, line in enumerate(rows, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4:
                raise ValueError(f"{path}:{number}: expected 4 fields, got {len(fields)}")
            figure, system, round_number, value = fields
            if system not in ("baseline", "ringvisor"):
                raise ValueError(f"{path}:{number}: unknown system {system!r}")
            values.setdefault(figure, {}).setdefault(int(round_number), {})[system] = float(value)
    return values


def summarize(values, figures=FIGURES, within_spread=False):
    summaries = []
    for name, title, unit, baseline, target, more_is_better in figures:
        rounds = values.get(name, {})
        pairs = [rounds[number] for number in sorted(rounds)
                 if "baseline" in rounds[number] and "ringvisor" in rounds[number]]
        if not pairs:
            continue
        ours = [pair["ringvisor"] for pair in pairs]
        theirs = [pair["baseline"] for pair in pairs]
        ratios = [pair["ringvisor"] / pair["baseline"] for pair in pairs if pair["baseline"] > 0]
        median_ratio = (statistics.median(ours) / statistics.median(theirs)
                        if statistics.median(theirs) > 0 else None)
        met = None
        if median_ratio is not None:
            met = median_ratio >= target if more_is_better else median_ratio <= target
        if met is False and within_spread and ratios:
            reached = max(ratios) >= target if more_is_better else min(ratios) <= target
            met = "within the spread" if reached else False
        summaries.append({
            "figure": name, "title": title, "unit": unit, "baseline": baseline,
            "target_ratio": target, "more_is_better": more_is_better,
            "rounds": [{"round": number, **rounds[number]} for number in sorted(rounds)],
            "ringvisor": spread(ours), "baseline_values": spread(theirs),
            "ratio": median_ratio, "round_ratios": spread(ratios) if ratios else None,
            "target_met": met,
        })
    return summaries


def spread(numbers):
    return {"median": statistics.median(numbers), "min": min(numbers), "max": max(numbers)}


def number(value, unit):
    if unit == "ms":
        return f"{value:.3f}"
    if unit == "transactions/s":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def print_table(summaries, stream):
    header = ("figure", "baseline: median [min-max]", "Ringvisor: median [min-max]",
              "ratio [per-round min-max]", "target")
    lines = [header]
    for summary in summaries:
        unit = summary["unit"]
        ours, theirs = summary["ringvisor"], summary["baseline_values"]
        ratio = summary["ratio"]
        round_ratios = summary["round_ratios"]
        ratio_text = "-" if ratio is None else (
            f"{ratio:.2f}x [{round_ratios['min']:.2f}-{round_ratios['max']:.2f}]")
        comparison = ">=" if summary["more_is_better"] else "<="
        verdict = {True: "met", False: "not met", None: "-"}.get(summary["target_met"],
                                                                  summary["target_met"])
        lines.append((
            f"{summary['title']} ({unit}; vs {summary['baseline']})",
            f"{number(theirs['median'], unit)} [{number(theirs['min'], unit)}-"
            f"{number(theirs['max'], unit)}]",
            f"{number(ours['median'], unit)} [{number(ours['min'], unit)}-"
            f"{number(ours['max'], unit)}]",
            ratio_text,
            f"{comparison} {summary['target_ratio']}x: {verdict}",
        ))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for line in lines:
        stream.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds")
    parser.add_argument("--json")
    parser.add_argument("--cpu", default="")
    parser.add_argument("--cpus", default="")
    parser.add_argument("--options", default="")
    parser.add_argument("--figures", choices=sorted(FIGURE_SETS), default="near_native")
    arguments = parser.parse_args()
    try:
        summaries = summarize(read_rounds(arguments.rounds), FIGURE_SETS[arguments.figures],
                              arguments.figures in WITHIN_SPREAD_SETS)
    except (OSError, ValueError) as error:
        print(f"near_native_report: {error}", file=sys.stderr)
        return 1
    if not summaries:
        print("near_native_report: no complete round in the input", file=sys.stderr)
        return 1
    print()
    print_table(summaries, sys.stdout)
    print(f"\nMeasured on {arguments.cpu or 'an unnamed CPU'}, {arguments.cpus} CPUs; medians "
          f"of {len(summaries[0]['rounds'])} rounds, each ratio Ringvisor over the baseline "
          "of the same run.")
    if arguments.json:
        document = {"cpu": arguments.cpu, "cpus": arguments.cpus,
                    "launcher_options": arguments.options, "figures": summaries}
        with open(arguments.json, "w") as output:
            json.dump(document, output, indent=1)
            output.write("\n")
        print(f"Every round: {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
