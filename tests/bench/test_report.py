#!/usr/bin/python3
"""tests/bench/test_report.py: bench/table/report.py against a recorded run of the table.

lguest_table_quick.jsonl is the raw file of a real run on a 2-core machine
(bench/table/lguest_table.sh --runs 3 --seconds 1 --omit 0 --systems "ringvisor qemu uml",
without --peers, so the QEMU and UML rows are the unavailable kind); lguest_table_quick.txt is
the report made from it. The tests recompute what they check from the raw runs themselves
(medians, min, max, percent of host), check the table's fixed-width layout, the 2007 figures
beside it, the footnotes, the JSON's keys, and iperf3 reports saved in iperf3/. Run with
Debian's /usr/bin/python3 (make bench-tests); the chart test needs python3-matplotlib.

If the report's wording changes on purpose, make the .txt again:
    /usr/bin/python3 bench/table/report.py report tests/bench/lguest_table_quick.jsonl --out DIR
and copy DIR/table.txt over it.
"""

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "table"))
import report  # noqa: E402

FIXTURE = os.path.join(HERE, "lguest_table_quick.jsonl")
EXPECTED_TEXT = os.path.join(HERE, "lguest_table_quick.txt")
IPERF3 = os.path.join(HERE, "iperf3")

# Where each column of a table line starts: label, loopback, client, server, "|", 2007 figures.
COLUMN_STARTS = [0, 34, 57, 80, 103, 105, 114, 123]

try:
    import matplotlib  # noqa: F401
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def raw_records():
    with open(FIXTURE) as raw:
        return [json.loads(line) for line in raw if line.strip()]


def runs_of(records, row, system, column):
    return [r["bits_per_second"] for r in records
            if r["kind"] == "run" and (r["row"], r["system"], r["column"]) == (row, system, column)]


def middle(values):
    # The test's own median, written differently from report.median on purpose.
    values = sorted(values)
    half = len(values) // 2
    return values[half] if len(values) % 2 else (values[half - 1] + values[half]) / 2


def tables(text):
    """{title: [lines]} of the three tables: the header line and the rows after each title."""
    lines = text.split("\n")
    found = {}
    for index, line in enumerate(lines):
        if lines[index + 1:index + 2] and lines[index + 1].startswith("configuration (this machine)"):
            rows = []
            for row in lines[index + 1:]:
                if not row:
                    break
                rows.append(row)
            found[line] = rows
    return found


def fields(line):
    """A table line cut at COLUMN_STARTS, each field stripped."""
    bounds = COLUMN_STARTS + [len(line)]
    return [line[bounds[i]:bounds[i + 1]].strip() for i in range(len(COLUMN_STARTS))]


class Statistics(unittest.TestCase):
    def test_median(self):
        self.assertEqual(report.median([3, 1, 2]), 2)
        self.assertEqual(report.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(report.median([5]), 5)
        self.assertIsNone(report.median([]))

    def test_every_cell_against_its_runs(self):
        records = raw_records()
        m = report.Measurements(records)
        measured = [c for c in records if c["kind"] == "cell" and c["status"] == "measured"]
        self.assertEqual(len(measured), 14)  # 5 host cells, 9 Ringvisor cells
        for cell in measured:
            key = (cell["row"], cell["system"], cell["column"])
            values = runs_of(records, *key)
            self.assertEqual(len(values), 3, key)
            self.assertEqual(m.stats(*key), (middle(values), min(values), max(values)), key)

    def test_unmeasured_cells_have_no_statistics(self):
        m = report.Measurements(raw_records())
        self.assertIsNone(m.stats("bridged", "qemu", "client"))
        self.assertIsNone(m.stats("nat", "ringvisor", "loopback"))

    def test_percent_of_host(self):
        records = raw_records()
        m = report.Measurements(records)
        for row, system, column in [("bridge", "host", "client"), ("bridged", "ringvisor", "server"),
                                    ("guests-share", "ringvisor", "client")]:
            expected = 100 * middle(runs_of(records, row, system, column)) / middle(
                runs_of(records, "host", "host", column))
            self.assertAlmostEqual(report.percent_of_host(m, row, system, column), expected, places=6)
        self.assertEqual(report.percent_of_host(m, "host", "host", "server"), 100)
        self.assertIsNone(report.percent_of_host(m, "bridged", "qemu", "client"))


class Layout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.records = raw_records()
        cls.m = report.Measurements(cls.records)
        cls.text = report.report_text(cls.m)
        cls.tables = tables(cls.text)

    def test_matches_the_recorded_report(self):
        with open(EXPECTED_TEXT) as expected:
            self.assertEqual(self.text, expected.read())

    def test_three_tables_of_every_row(self):
        self.assertEqual(list(self.tables), [
            "MByte/s (2^20 bytes/s)", "Gbit/s (10^9 bit/s)",
            "percent of the host row (same column, same run; 2007: of its own host row)"])
        labels = [
            "host", "host, bridge",
            "guest, bridged: Ringvisor", "guest, bridged: QEMU 7.2 TCG", "guest, bridged: UML 6.1 vector",
            "guest, NAT: Ringvisor", "guest, NAT: QEMU 7.2 TCG", "guest, NAT: UML 6.1 vector",
            "guest to host: Ringvisor", "guest to host: QEMU 7.2 TCG", "guest to host: UML 6.1 vector",
            "guest to guest: Ringvisor", "guest to guest: QEMU 7.2 TCG", "guest to guest: UML 6.1 vector",
            "guest to guest, share: Ringvisor",  # only a system with a switch of its own has this row
        ]
        for lines in self.tables.values():
            self.assertEqual(fields(lines[0]), ["configuration (this machine)", "loopback", "client",
                                                "server", "|", "2007 lo", "client", "server"])
            self.assertEqual([fields(line)[0] for line in lines[1:]], labels)

    def test_columns_are_aligned(self):
        for lines in self.tables.values():
            for line in lines:
                self.assertEqual(len(line), 131, line)  # the last column is padded too
                self.assertEqual(line[103], "|", line)
                for start in COLUMN_STARTS[1:]:
                    self.assertEqual(line[start - 1], " ", (start, line))
                    self.assertNotEqual(line[start], " ", (start, line))

    def row(self, table, label):
        for line in self.tables[table]:
            if fields(line)[0] == label:
                return fields(line)
        self.fail("no row %r in %r" % (label, table))

    def test_cells_show_median_min_max(self):
        loopback = runs_of(self.records, "host", "host", "loopback")
        mbyte = "%.0f (%.0f-%.0f)" % tuple(v / 8 / 1048576 for v in (middle(loopback), min(loopback), max(loopback)))
        gbit = "%.2f (%.2f-%.2f)" % tuple(v / 1e9 for v in (middle(loopback), min(loopback), max(loopback)))
        self.assertEqual(self.row("MByte/s (2^20 bytes/s)", "host")[1], mbyte)
        self.assertEqual(self.row("Gbit/s (10^9 bit/s)", "host")[1], gbit)

    def test_percent_table(self):
        table = "percent of the host row (same column, same run; 2007: of its own host row)"
        self.assertEqual(self.row(table, "host")[1:4], ["100.0%"] * 3)
        server = 100 * middle(runs_of(self.records, "nat", "ringvisor", "server")) / middle(
            runs_of(self.records, "host", "host", "server"))
        self.assertEqual(self.row(table, "guest, NAT: Ringvisor")[3], "%.1f%%" % server)

    def test_2007_figures_beside(self):
        self.assertEqual(self.row("MByte/s (2^20 bytes/s)", "host")[5:], ["113", "78.3", "48.6"])
        self.assertEqual(self.row("MByte/s (2^20 bytes/s)", "host, bridge")[5:], ["-", "30.2", "44.3"])
        self.assertEqual(self.row("MByte/s (2^20 bytes/s)", "guest to guest: Ringvisor")[5:], ["-", "20.1", "-"])
        self.assertEqual(self.row("Gbit/s (10^9 bit/s)", "host")[5:], ["0.948", "0.657", "0.408"])
        percent = "percent of the host row (same column, same run; 2007: of its own host row)"
        self.assertEqual(self.row(percent, "guest, bridged: UML 6.1 vector")[5:], ["37.7%", "10.6%", "21.6%"])

    def test_unavailable_rows_say_why_in_a_footnote(self):
        for table in self.tables:
            self.assertEqual(self.row(table, "guest, bridged: QEMU 7.2 TCG")[1:4], ["-[1]"] * 3)
            self.assertEqual(self.row(table, "guest, NAT: UML 6.1 vector")[1:4], ["-", "-[1]", "-[1]"])
            self.assertEqual(self.row(table, "guest to guest: QEMU 7.2 TCG")[1:4], ["-", "-[1]", "-"])
        self.assertIn("\n[1] rival rows are measured with --peers\n", self.text)
        self.assertNotIn("[2]", self.text)  # the layout's own blanks ("-") have no footnote

    def test_footnotes_in_table_order_and_partial_failures(self):
        records = [r for r in raw_records() if not (r["kind"] == "run" and r["row"] == "nat"
                                                   and r["system"] == "ringvisor" and r["run"] == 2)]
        for record in records:
            if record["kind"] == "cell" and (record["row"], record["system"]) == ("nat", "ringvisor") \
                    and record["column"] != "loopback":
                record["note"] = "1 of 3 runs failed: connection reset"
        m = report.Measurements(records)
        text = report.report_text(m)
        line = next(l for l in tables(text)["Gbit/s (10^9 bit/s)"] if l.startswith("guest, NAT: Ringvisor"))
        values = runs_of(records, "nat", "ringvisor", "client")
        self.assertEqual(len(values), 2)
        self.assertEqual(fields(line)[2], "%.2f (%.2f-%.2f) [2]" % (
            (values[0] + values[1]) / 2 / 1e9, min(values) / 1e9, max(values) / 1e9))
        self.assertIn("\n[1] rival rows are measured with --peers\n[2] 1 of 3 runs failed: connection reset\n", text)

    def test_topology_is_named(self):
        self.assertIn("\nTopology (network namespaces made for this run, removed after it):\n", self.text)
        self.assertIn("guest, NAT: a TAP 198.18.3.1/24 in host", self.text)


class Json(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.records = raw_records()
        cls.results = json.loads(json.dumps(report.results(report.Measurements(cls.records))))

    def test_keys(self):
        self.assertEqual(set(self.results), {
            "benchmark", "date", "method", "machine", "versions", "congestion_control",
            "bridge_nf_call_iptables", "guest_boot_seconds", "uml_preload",
            "installed_from_debian_this_run", "topology", "cells", "lguest_2007_mbyte_per_second"})
        self.assertEqual(set(self.results["method"]), {"tool", "protocol", "streams", "runs", "seconds",
                                                       "omitted_seconds", "figure", "mbyte", "gbit"})
        self.assertEqual(set(self.results["machine"]), {"cpu", "cores", "memory_kib", "debian"})
        self.assertTrue({"host_kernel", "iperf3", "qemu", "uml", "ringvisor", "guests_reported",
                         "matplotlib"} <= set(self.results["versions"]))
        for cell in self.results["cells"]:
            self.assertEqual(set(cell), {"row", "system", "column", "status", "note", "path",
                                         "median_bits_per_second", "min_bits_per_second",
                                         "max_bits_per_second", "runs"})
            for run in cell["runs"]:
                self.assertEqual(set(run), {"run", "bits_per_second", "retransmits", "sender",
                                            "sender_congestion_control"})

    def test_every_run_and_cell_is_kept(self):
        cells = self.results["cells"]
        self.assertEqual(len(cells), sum(r["kind"] == "cell" for r in self.records))
        self.assertEqual(sum(len(c["runs"]) for c in cells), sum(r["kind"] == "run" for r in self.records))
        share = next(c for c in cells if (c["row"], c["system"]) == ("guests-share", "ringvisor")
                     and c["column"] == "client")
        values = runs_of(self.records, "guests-share", "ringvisor", "client")
        self.assertEqual(share["median_bits_per_second"], middle(values))
        self.assertEqual(share["min_bits_per_second"], min(values))
        self.assertEqual(share["max_bits_per_second"], max(values))
        unavailable = next(c for c in cells if (c["row"], c["system"], c["column"]) == ("bridged", "uml", "client"))
        self.assertEqual(unavailable["status"], "unavailable")
        self.assertIsNone(unavailable["median_bits_per_second"])
        self.assertEqual(unavailable["runs"], [])

    def test_facts(self):
        self.assertEqual(self.results["method"]["runs"], 3)
        self.assertEqual(self.results["lguest_2007_mbyte_per_second"]["host|loopback"], 113)
        self.assertEqual(self.results["lguest_2007_mbyte_per_second"]["guests-share|client"], 20.1)
        self.assertEqual(self.results["congestion_control"]["host_and_remote"], "bbr")
        self.assertEqual(self.results["congestion_control"]["guests"],
                         {"ringvisor": "the Ringvisor guest's own TCP"})


class Iperf3Reports(unittest.TestCase):
    def read(self, name):
        with open(os.path.join(IPERF3, name)) as f:
            return f.read()

    def test_guest_client_text(self):
        # Ringvisor's iperf3 prints Mbits/sec and a Bytes column; the receiver line is the figure.
        self.assertEqual(report.parse_iperf3_text(self.read("guest_loopback.txt")), (43994090000, 0, None))

    def test_stock_client_text(self):
        self.assertEqual(report.parse_iperf3_text(self.read("client.txt")), (23108899000, 12, None))

    def test_no_receiver_line(self):
        self.assertEqual(report.parse_iperf3_text("iperf3: error - unable to connect\n"), (None, None, None))

    def test_server_json(self):
        bps, retransmits, error = report.parse_iperf3_json(self.read("server.json"))
        self.assertEqual(bps, 23108899301.16898)
        self.assertIsNone(error)

    def test_error_json(self):
        self.assertEqual(report.parse_iperf3_json(self.read("refused.json")),
                         (None, None, "unable to connect to server: Connection refused"))

    def test_not_json(self):
        self.assertEqual(report.parse_iperf3_json("iperf3: error\nsomething\n"),
                         (None, None, "iperf3: error something "))


class Files(unittest.TestCase):
    def test_report_writes_its_files(self):
        with tempfile.TemporaryDirectory() as out:
            printed = io.StringIO()
            with redirect_stdout(printed):
                self.assertEqual(report.report(FIXTURE, out), 0)
            with open(os.path.join(out, "table.txt")) as table:
                self.assertEqual(table.read(), printed.getvalue())
            with open(os.path.join(out, "results.json")) as results:
                self.assertEqual(len(json.load(results)["cells"]), 51)  # 6 host cells, 15 for each guest system
            if HAVE_MATPLOTLIB:
                for name in ("throughput.png", "throughput.svg"):
                    self.assertGreater(os.path.getsize(os.path.join(out, name)), 10000, name)

    def test_chart_data(self):
        data = report.chart_data(report.Measurements(raw_records()))
        self.assertEqual(len(data["host"]), len(report.CHART_CELLS))
        self.assertTrue(all(h != h for h in data["qemu"]))  # NaN: not measured in this run
        self.assertAlmostEqual(data["lguest2007"][0], 113 * 8 * 1048576 / 1e9)


if __name__ == "__main__":
    unittest.main()
