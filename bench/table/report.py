#!/usr/bin/python3
"""bench/table/report.py: lguest's 2007 table from the raw measurements, as text, JSON and chart.

lguest_table.sh measures and records; this program only computes and lays out, from the raw
file alone (OUT/measurements.jsonl, one JSON object a line: "run", "cell", "boot", "guest" and
one "meta"; bench/table/common.sh writes it). So a recorded file reproduces a report exactly,
and tests/bench/test_report.py checks the statistics and the layout against one.

    report.py report RAW --out DIR    print the tables; write DIR/table.txt, results.json,
                                      throughput.png and throughput.svg
    report.py iperf3 json|text FILE   the receiver's bits per second, the sender's retransmits
                                      and iperf3's error, one a line (empty when absent), from an
                                      iperf3 -J report or a client's text summary; the shell
                                      calls this once a run

Run it with Debian's /usr/bin/python3: matplotlib (the chart) is Debian's python3-matplotlib.
"""

import argparse
import json
import math
import os
import re
import sys

ROWS = ["host", "bridge", "bridged", "nat", "to-host", "guests", "guests-share"]
COLUMNS = ["loopback", "client", "server"]
ROW_TITLES = {
    "host": "host",
    "bridge": "host, bridge",
    "bridged": "guest, bridged",
    "nat": "guest, NAT",
    "to-host": "guest to host",
    "guests": "guest to guest",
    "guests-share": "guest to guest, share",
}

# The 2007 table (lguest, Linux 2.6.23 era, 2.4 GHz Xeon, gigabit link; iperf, MByte/s), as
# printed then: the text is what the table shows, the number what it is computed from.
LGUEST_2007 = {
    ("host", "loopback"): "113", ("host", "client"): "78.3", ("host", "server"): "48.6",
    ("bridge", "client"): "30.2", ("bridge", "server"): "44.3",
    ("bridged", "loopback"): "42.6", ("bridged", "client"): "8.3", ("bridged", "server"): "10.5",
    ("nat", "client"): "8.5", ("nat", "server"): "9.9",
    ("to-host", "client"): "8", ("to-host", "server"): "11.8",
    ("guests", "client"): "20.1", ("guests-share", "client"): "20.1",
}

MBYTE = 8 * 1048576  # bits in a MByte (2^20 bytes), the 2007 unit
GBIT = 1e9

# The table's columns: label, then three cells of this run, then the three 2007 figures.
ROW_FORMAT = "%-33s %-22s %-22s %-22s | %-8s %-8s %-8s"

# The chart's bars: (row, column, label), and its series: (system, legend).
CHART_CELLS = [
    ("host", "loopback", "host loopback"), ("host", "client", "host client"),
    ("host", "server", "host server"), ("bridge", "client", "bridge client"),
    ("bridge", "server", "bridge server"), ("bridged", "loopback", "bridged loopback"),
    ("bridged", "client", "bridged client"), ("bridged", "server", "bridged server"),
    ("nat", "client", "NAT client"), ("nat", "server", "NAT server"),
    ("to-host", "client", "guest to host"), ("to-host", "server", "host to guest"),
    ("guests", "client", "guest to guest"), ("guests-share", "client", "guest to guest (share)"),
]
CHART_SERIES = [
    ("host", "host (this machine)", "#9400d3"), ("ringvisor", "Ringvisor", "#009e73"),
    ("qemu", "QEMU 7.2 TCG", "#56b4e9"), ("uml", "UML 6.1 vector", "#e69f00"),
    ("lguest2007", "lguest 2007 (2.4 GHz Xeon, GbE)", "#f0e442"),
]


def median(values):
    """The middle value; of an even count, the mean of the two middle ones. None if empty."""
    ordered = sorted(values)
    count = len(ordered)
    if count == 0:
        return None
    if count % 2 == 1:
        return ordered[count // 2]
    return (ordered[count // 2 - 1] + ordered[count // 2]) / 2


class Measurements:
    """One run of the table, as recorded: its cells, their runs, and the run's facts."""

    def __init__(self, records):
        self.meta = {}
        self.cells = []  # in the order they were measured
        self.runs = []
        self.boots = []
        self.guests = []
        for record in records:
            kind = record.get("kind")
            if kind == "meta":
                self.meta = record
            elif kind == "cell":
                self.cells.append(record)
            elif kind == "run":
                self.runs.append(record)
            elif kind == "boot":
                self.boots.append(record)
            elif kind == "guest":
                self.guests.append(record)
        self.cell_by_key = {(c["row"], c["system"], c["column"]): c for c in self.cells}
        self.values = {}
        for run in self.runs:
            key = (run["row"], run["system"], run["column"])
            self.values.setdefault(key, []).append(run["bits_per_second"])

    @classmethod
    def load(cls, path):
        records = []
        with open(path, encoding="utf-8", errors="replace") as raw:
            for number, line in enumerate(raw, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError as error:
                        raise SystemExit("report: %s:%d: %s" % (path, number, error))
        return cls(records)

    def stats(self, row, system, column):
        """(median, min, max) in bits per second of one cell's runs, or None."""
        values = self.values.get((row, system, column), [])
        if not values:
            return None
        return median(values), min(values), max(values)

    def status(self, row, system, column):
        return self.cell_by_key.get((row, system, column), {}).get("status", "")

    def note(self, row, system, column):
        return self.cell_by_key.get((row, system, column), {}).get("note", "")

    def title(self, system):
        return self.meta.get("titles", {}).get(system, system)

    def table_rows(self):
        """(row, system) in table order: the host rows, then each guest row for each system."""
        rows = [("host", "host"), ("bridge", "host")]
        for row in ROWS[2:]:
            for system in self.meta.get("systems", []):
                if row == "guests-share" and system not in self.meta.get("share", []):
                    continue  # no switch of its own: no such row at all
                rows.append((row, system))
        return rows


def percent_of_host(m, row, system, column):
    """A cell's median as a percentage of the host row's median in the same column, or None."""
    cell, host = m.stats(row, system, column), m.stats("host", "host", column)
    if cell is None or host is None or host[0] == 0:
        return None
    return 100 * table_value(cell[0]) / table_value(host[0])


def table_value(bits_per_second):
    # The tables work from whole bits per second, as the shell version's printf "%.0f" did.
    return float(round(bits_per_second))


class Footnotes:
    """Numbers for the notes of cells that are not plain figures, in table order."""

    def __init__(self, m):
        self.notes = []
        for row, system in m.table_rows():
            for column in COLUMNS:
                if m.status(row, system, column) not in ("", "none") and m.note(row, system, column):
                    self.number(m.note(row, system, column))

    def number(self, note):
        if note not in self.notes:
            self.notes.append(note)
        return self.notes.index(note) + 1


def cell_text(m, footnotes, unit, row, system, column):
    """One cell: "median (min-max)" in UNIT (mbyte, gbit) or "percent"; "-" and a footnote
    number for a cell that could not be measured; "-" alone for one the 2007 layout leaves out."""
    status = m.status(row, system, column)
    note = m.note(row, system, column)
    if status in ("", "none"):
        return "-"
    if status != "measured" or m.stats(row, system, column) is None:
        return "-[%d]" % footnotes.number(note) if note else "-"
    middle, low, high = (table_value(v) for v in m.stats(row, system, column))
    if unit == "mbyte":
        text = "%.0f (%.0f-%.0f)" % (middle / MBYTE, low / MBYTE, high / MBYTE)
    elif unit == "gbit":
        text = "%.2f (%.2f-%.2f)" % (middle / GBIT, low / GBIT, high / GBIT)
    else:
        percent = percent_of_host(m, row, system, column)
        text = "-" if percent is None else "%.1f%%" % percent
    if note:
        text += " [%d]" % footnotes.number(note)
    return text


def lguest_cell_text(unit, row, column):
    text = LGUEST_2007.get((row, column))
    if text is None:
        return "-"
    value = float(text)
    if unit == "mbyte":
        return text
    if unit == "gbit":
        return "%.3f" % (value * MBYTE / GBIT)
    return "%.1f%%" % (100 * value / float(LGUEST_2007[("host", column)]))


def table_lines(m, footnotes, unit, title):
    lines = ["", title, ROW_FORMAT % ("configuration (this machine)", "loopback", "client", "server",
                                      "2007 lo", "client", "server")]
    for row, system in m.table_rows():
        label = ROW_TITLES[row] if system == "host" else "%s: %s" % (ROW_TITLES[row], m.title(system))
        lines.append(ROW_FORMAT % ((label,)
                                   + tuple(cell_text(m, footnotes, unit, row, system, c) for c in COLUMNS)
                                   + tuple(lguest_cell_text(unit, row, c) for c in COLUMNS)))
    return lines


def sender_congestion_control(m, system):
    """The congestion control SYSTEM's own sends ran (its first run as sender), or None."""
    for run in m.runs:
        if run["system"] == system and run["sender"] == system:
            return run["sender_congestion_control"]
    return None


def report_text(m):
    """The whole report as printed and kept in table.txt."""
    meta = m.meta
    footnotes = Footnotes(m)
    host_cc = meta.get("host_congestion_control", "")
    iperf3 = (meta.get("iperf3", "").split() + ["", ""])[1]
    lines = [
        "lguest's 2007 network table, measured again: %s, %s, %s cores, %d GiB,"
        % (meta.get("date", ""), meta.get("cpu", ""), meta.get("cores", ""),
           int(meta.get("memory_kib", 0)) // 1024 // 1024),
        "Linux %s, iperf3 %s, TCP, one stream, %s runs of %s s (+%s s omitted): median (min-max)."
        % (meta.get("host_kernel", ""), iperf3, meta.get("runs"), meta.get("seconds"), meta.get("omit")),
        "Loopback: client and server on the one system; client: the system under test sends (runs the",
        "iperf3 client) to a \"remote\" network namespace (or the host); server: it receives.",
        "Right of |: lguest's 2007 figures (Linux 2.6.23 era, 2.4 GHz Xeon, gigabit link, iperf; the",
        "guest rows are lguest's guest) for the matching row.",
    ]
    lines += table_lines(m, footnotes, "mbyte", "MByte/s (2^20 bytes/s)")
    lines += table_lines(m, footnotes, "gbit", "Gbit/s (10^9 bit/s)")
    lines += table_lines(m, footnotes, "percent",
                         "percent of the host row (same column, same run; 2007: of its own host row)")
    lines += [
        "",
        "Senders' TCP congestion control: the host and the remote namespace run %s (the host's" % host_cc,
        "default); Linux guests run their own kernel's default, so in a guest's client column the guest",
        "sends with its algorithm, in its server column the remote namespace (or host) sends with %s."
        % host_cc,
    ]
    for system in ("qemu", "uml"):
        cc = sender_congestion_control(m, system)
        if cc:
            lines.append("  %s guest: %s" % (m.title(system), cc))
    lines += [
        "KVM on these machines cannot run a stock Linux guest (nested, ring 0 emulated),",
        "so QEMU runs with TCG: its figures are bound by the emulated CPU, not by its network path.",
    ]
    if meta.get("uml_preload") and meta.get("amx") and "uml" in meta.get("systems", []):
        lines += [
            "UML 6.1 cannot restore its processes' FPU state on this CPU (AMX: the host takes only the whole",
            "XSAVE area, UML passes 4 KiB), so it runs with bench/table/uml_xstate_shim.c preloaded, which",
            "completes each restore with one extra ptrace call: UML's figures are a little low for that.",
        ]
    if meta.get("installed"):
        lines.append("Installed from Debian for this run: %s." % " ".join(meta["installed"]))
    if footnotes.notes:
        lines.append("")
        lines += ["[%d] %s" % (number, note) for number, note in enumerate(footnotes.notes, 1)]
    lines += [
        "[guest to guest] 2007: 20.1 MByte/s through lguest's --sharenet (one figure, shown as client).",
        "  Here, twice: two guests, each with its own TAP, on one Linux bridge in the host namespace;",
        "  and (\"share\") the same two guests on Ringvisor's shared-memory switch, --sharenet's",
        "  counterpart, where frames never touch the host's network stack. Guest B runs the client.",
    ]
    cpus = meta.get("ringvisor_cpus", [])
    if len(cpus) == 2:
        lines.append("  Each Ringvisor guest runs on a core of its own (--cpu %s, --cpu %s) in both rows."
                     % tuple(cpus))
    share = m.stats("guests-share", "ringvisor", "client")
    loopback = m.stats("host", "host", "loopback")
    if share and loopback:
        share_bps, loopback_bps = table_value(share[0]), table_value(loopback[0])
        text = ("  Guest to guest over share: %.2f Gbit/s, %.0f%% of the host's own loopback (%.2f Gbit/s)"
                % (share_bps / GBIT, 100 * share_bps / loopback_bps, loopback_bps / GBIT))
        bridge = m.stats("guests", "ringvisor", "client")
        if bridge and bridge[0] > 0:
            text += ",\n  %.2fx the two guests on a bridge" % (share_bps / table_value(bridge[0]))
        text += ". The target (docs/design.md): at least 100% of loopback."
        lines += text.split("\n")
    if meta.get("topology"):
        lines += ["", "Topology (network namespaces made for this run, removed after it):"]
        lines += ["  " + line for line in meta["topology"]]
    return "\n".join(lines) + "\n"


def results(m):
    """results.json: the method, machine, versions, and every cell with its runs and statistics."""
    meta = m.meta
    cells = []
    for cell in m.cells:
        key = (cell["row"], cell["system"], cell["column"])
        mine = [run for run in m.runs if (run["row"], run["system"], run["column"]) == key]
        stats = m.stats(*key) or (None, None, None)
        cells.append({
            "row": cell["row"], "system": cell["system"], "column": cell["column"],
            "status": cell["status"], "note": cell.get("note", ""), "path": cell.get("path", ""),
            "median_bits_per_second": stats[0], "min_bits_per_second": stats[1],
            "max_bits_per_second": stats[2],
            "runs": [{k: run[k] for k in ("run", "bits_per_second", "retransmits", "sender",
                                          "sender_congestion_control")} for run in mine],
        })
    guests_cc = {}
    for run in m.runs:
        if run["sender"] == run["system"] and run["system"] != "host":
            guests_cc[run["system"]] = run["sender_congestion_control"]
    preload = None
    if meta.get("uml_preload"):
        preload = {"library": meta["uml_preload"], "source": "bench/table/uml_xstate_shim.c",
                   "why": "UML 6.1 restores FPU state through a 4 KiB PTRACE_SETREGSET buffer; "
                          "a host with AMX refuses anything but its whole XSAVE area"}
    return {
        "benchmark": "lguest 2007 network table, reproduced",
        "date": meta.get("date"),
        "method": {"tool": "iperf3", "protocol": "TCP", "streams": 1, "runs": meta.get("runs"),
                   "seconds": meta.get("seconds"), "omitted_seconds": meta.get("omit"),
                   "figure": "receiver side (iperf3 end.sum_received)",
                   "mbyte": "2^20 bytes", "gbit": "10^9 bits"},
        "machine": {"cpu": meta.get("cpu"), "cores": meta.get("cores"),
                    "memory_kib": meta.get("memory_kib"), "debian": meta.get("debian")},
        "versions": {
            **{key: meta.get(key, "") for key in (
                "host_kernel", "host_kernel_build", "iperf3", "qemu", "qemu_guest_kernel", "uml",
                "gcc", "busybox", "nftables")},
            "python": meta.get("report_python", ""), "matplotlib": meta.get("report_matplotlib", ""),
            "ringvisor": meta.get("ringvisor", ""),
            "guests_reported": sorted({"%s: %s" % (g["system"], g["ready"]) for g in m.guests}),
        },
        "congestion_control": {"host_and_remote": meta.get("host_congestion_control"),
                               "guests": guests_cc},
        "bridge_nf_call_iptables": meta.get("bridge_nf_call_iptables"),
        "guest_boot_seconds": [{"system": b["system"], "seconds": b["seconds"]} for b in m.boots],
        "uml_preload": preload,
        "installed_from_debian_this_run": meta.get("installed", []),
        "topology": meta.get("topology", []),
        "cells": cells,
        "lguest_2007_mbyte_per_second": {"%s|%s" % key: json.loads(text)
                                          for key, text in LGUEST_2007.items()},
    }


def chart_data(m):
    """Gbit/s for each CHART_CELLS bar of each CHART_SERIES (NaN: not measured)."""
    data = {}
    for system, _, _ in CHART_SERIES:
        heights = []
        for row, column, _ in CHART_CELLS:
            if system == "lguest2007":
                text = LGUEST_2007.get((row, column))
                heights.append(float(text) * MBYTE / GBIT if text else math.nan)
            else:
                stats = m.stats(row, system, column)
                heights.append(stats[0] / GBIT if stats else math.nan)
        data[system] = heights
    return data


def write_chart(m, out):
    import matplotlib
    matplotlib.use("Agg")  # no display: files only
    import matplotlib.ticker
    from matplotlib import pyplot

    pyplot.rcParams["svg.hashsalt"] = "lguest-table"  # the same data, the same SVG
    data = chart_data(m)
    figure, axes = pyplot.subplots(figsize=(12, 6), dpi=100)
    slot = 1 / (len(CHART_SERIES) + 1)  # clustered, one bar's room of gap between clusters
    for index, (system, legend, colour) in enumerate(CHART_SERIES):
        offset = (index - (len(CHART_SERIES) - 1) / 2) * slot
        bars = [(x + offset, h) for x, h in enumerate(data[system]) if not math.isnan(h)]
        if bars:  # a system not measured in this run has no bars and no legend entry
            axes.bar([x for x, _ in bars], [h for _, h in bars], width=0.9 * slot, label=legend,
                     color=colour, edgecolor="black", linewidth=0.6)
    tallest = max([h for heights in data.values() for h in heights if not math.isnan(h)] + [1])
    axes.set_yscale("log")
    # A decade boundary at least twice the tallest bar: room for the legend's one line above it.
    axes.set_ylim(0.01, 10 ** math.ceil(math.log10(tallest * 2)))
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: "%g" % y))
    axes.set_ylabel("Gbit/s (log scale)")
    axes.grid(axis="y", which="major", linewidth=0.5, linestyle=":")
    axes.set_axisbelow(True)
    axes.set_xticks(range(len(CHART_CELLS)))
    axes.set_xticklabels([label for _, _, label in CHART_CELLS], rotation=30, ha="right")
    axes.legend(loc="upper center", ncol=len(CHART_SERIES), fontsize="small", frameon=False)
    axes.set_title("lguest's 2007 table on this machine: TCP throughput, one stream "
                   "(median of %s runs, %s)" % (m.meta.get("runs"), m.meta.get("date")))
    figure.tight_layout()
    for extension in ("png", "svg"):
        figure.savefig(os.path.join(out, "throughput." + extension), metadata={"Date": None}
                       if extension == "svg" else None)
    pyplot.close(figure)


def report(raw, out):
    m = Measurements.load(raw)
    text = report_text(m)
    sys.stdout.write(text)
    sys.stdout.flush()
    with open(os.path.join(out, "table.txt"), "w", encoding="utf-8") as table:
        table.write(text)
    m.meta["report_python"] = sys.version.split()[0]
    try:
        import matplotlib
        m.meta["report_matplotlib"] = matplotlib.__version__
    except ImportError:
        pass
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as out_json:
        json.dump(results(m), out_json, indent=2)
        out_json.write("\n")
    try:
        write_chart(m, out)
    except Exception as error:  # the tables and JSON stand without the chart; say why it failed
        print("lguest_table: the chart failed: %s: %s" % (type(error).__name__, error), file=sys.stderr)
    return 0


# ---- iperf3's reports ------------------------------------------------------------------------

UNITS = {"G": 1e9, "M": 1e6, "K": 1e3}


def leading_number(text):
    match = re.match(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text)
    return float(match.group(0)) if match else 0.0


def parse_iperf3_text(text):
    """(bits per second, retransmits, error) from an iperf3 client's text summary: the figure of
    its last "receiver" line (the [SUM] with -P), in any unit; the retransmits of its "sender"
    line. None where absent."""
    bps = retransmits = None
    for line in text.replace("\r", "").split("\n"):
        words = line.split()
        if "receiver" in line:
            for i in range(1, len(words)):
                if re.fullmatch(r"[KMG]?bits/sec", words[i]):
                    bps = leading_number(words[i - 1]) * UNITS.get(words[i][0], 1)
        if line.endswith("sender") and len(words) >= 2 and re.fullmatch(r"[0-9]+", words[-2]):
            retransmits = int(words[-2])
    return (None if bps is None else float("%.0f" % bps)), retransmits, None


def parse_iperf3_json(text):
    """(bits per second, retransmits, error) from an iperf3 -J report: the receiver's figure
    (end.sum_received), the sender's retransmits (end.sum_sent), iperf3's own error message,
    or the start of the file when it is not JSON."""
    try:
        report = json.loads(text)
    except ValueError:
        return None, None, " ".join(text[:200].split("\n"))
    if not isinstance(report, dict):
        return None, None, None
    end = report.get("end") if isinstance(report.get("end"), dict) else {}
    received = end.get("sum_received") if isinstance(end.get("sum_received"), dict) else {}
    sent = end.get("sum_sent") if isinstance(end.get("sum_sent"), dict) else {}
    bps = received.get("bits_per_second")
    retransmits = sent.get("retransmits")
    error = report.get("error")
    return (bps if isinstance(bps, (int, float)) and not isinstance(bps, bool) else None,
            retransmits if isinstance(retransmits, int) else None,
            " ".join(str(error).split("\n")) if error else None)


def iperf3(form, path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as error:
        text, failure = "", "cannot read %s: %s" % (path, error.strerror)
    else:
        failure = None
    bps, retransmits, error = (parse_iperf3_json if form == "json" else parse_iperf3_text)(text)
    if bps is not None and float(bps).is_integer():
        bps = int(bps)
    for value in (bps, retransmits, failure or error):
        print("" if value is None else value)
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="report.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    report_command = commands.add_parser("report", help="tables, results.json and the chart")
    report_command.add_argument("raw", help="the raw measurements (measurements.jsonl)")
    report_command.add_argument("--out", required=True, help="where table.txt, results.json and the chart go")
    iperf3_command = commands.add_parser("iperf3", help="one iperf3 run's figures, for the shell")
    iperf3_command.add_argument("form", choices=["json", "text"])
    iperf3_command.add_argument("file")
    arguments = parser.parse_args(argv)
    if arguments.command == "report":
        return report(arguments.raw, arguments.out)
    return iperf3(arguments.form, arguments.file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
