#!/usr/bin/python3
"""tests/bench/test_near_native_report.py: bench/near_native_report.py on rounds written here.

The rounds are made up so that every figure is known: medians, the spread of the per-round
ratios, each target met or not (ping is the one where less is better), the JSON holding every
round, and input that is not the script's refused with a line that says where.
"""

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import near_native_report as report  # noqa: E402

ROUNDS = [
    # figure, baseline, ringvisor, for rounds 1, 2, 3
    ("receive", [20.0, 18.0, 22.0], [12.0, 18.0, 11.0]),
    ("send", [20.0, 20.0, 20.0], [30.0, 40.0, 35.0]),
    ("share", [23.0, 23.0, 23.0], [23.0, 23.0, 24.0]),
    ("ping", [0.010, 0.012, 0.011], [0.020, 0.030, 0.025]),
    ("udp_echo", [20000, 18000, 19000], [9600, 9800, 9700]),
]


def write_rounds(directory):
    path = os.path.join(directory, "rounds.tsv")
    with open(path, "w") as rows:
        for figure, baseline, ours in ROUNDS:
            for number, (theirs, mine) in enumerate(zip(baseline, ours), 1):
                rows.write(f"{figure}\tbaseline\t{number}\t{theirs}\n")
                rows.write(f"{figure}\tringvisor\t{number}\t{mine}\n")
    return path


def run(arguments):
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["near_native_report.py"] + arguments
    try:
        with redirect_stdout(out), redirect_stderr(err):
            status = report.main()
    finally:
        sys.argv = old
    return status, out.getvalue(), err.getvalue()


class Report(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.rounds = write_rounds(self.directory.name)
        self.json = os.path.join(self.directory.name, "out.json")
        self.status, self.text, self.errors = run([self.rounds, "--json", self.json,
                                                   "--cpu", "Test CPU", "--cpus", "2"])
        with open(self.json) as document:
            self.document = json.load(document)
        self.figures = {figure["figure"]: figure for figure in self.document["figures"]}

    def tearDown(self):
        self.directory.cleanup()

    def test_it_succeeds_and_names_the_machine(self):
        self.assertEqual(self.status, 0, self.errors)
        self.assertIn("Measured on Test CPU, 2 CPUs; medians of 3 rounds", self.text)

    def test_ratio_is_of_the_medians_and_spread_of_the_rounds(self):
        receive = self.figures["receive"]
        self.assertAlmostEqual(receive["ratio"], 12.0 / 20.0)
        self.assertAlmostEqual(receive["round_ratios"]["min"], 0.5)
        self.assertAlmostEqual(receive["round_ratios"]["max"], 1.0)
        self.assertEqual(receive["ringvisor"], {"median": 12.0, "min": 11.0, "max": 18.0})
        self.assertIn("0.60x [0.50-1.00]", self.text)

    def test_targets_more_and_less_is_better(self):
        self.assertFalse(self.figures["receive"]["target_met"])  # 0.6 < 0.9
        self.assertTrue(self.figures["send"]["target_met"])  # 1.75 >= 0.9
        self.assertTrue(self.figures["share"]["target_met"])  # exactly 1.0
        self.assertFalse(self.figures["ping"]["target_met"])  # 0.025 / 0.011 > 2
        self.assertTrue(self.figures["udp_echo"]["target_met"])  # 9700 / 19000 >= 0.5

    def test_every_round_is_in_the_json(self):
        for figure, baseline, ours in ROUNDS:
            rounds = self.figures[figure]["rounds"]
            self.assertEqual([entry["baseline"] for entry in rounds], baseline)
            self.assertEqual([entry["ringvisor"] for entry in rounds], ours)

    def test_bad_lines_are_refused_with_where(self):
        path = os.path.join(self.directory.name, "bad.tsv")
        with open(path, "w") as rows:
            rows.write("receive\tbaseline\t1\n")
        status, _, errors = run([path])
        self.assertEqual(status, 1)
        self.assertIn("bad.tsv:1: expected 4 fields, got 3", errors)
        with open(path, "w") as rows:
            rows.write("receive\tqemu\t1\t3.0\n")
        status, _, errors = run([path])
        self.assertEqual(status, 1)
        self.assertIn("unknown system 'qemu'", errors)


class PollingReport(unittest.TestCase):
    """The polling set: its target is "not slower than --poll 0", with the rounds' noise allowed."""

    def test_a_median_below_that_the_rounds_reach_is_within_the_spread(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "rounds.tsv")
            with open(path, "w") as rows:
                # rate_test: slower in the median, but one round was not: the rounds' noise.
                # udp_echo: slower in every round. ping: faster (less is better).
                for figure, baseline, ours in (("rate_test", [100, 100, 100], [90, 95, 101]),
                                               ("udp_echo", [100, 100, 100], [50, 60, 70]),
                                               ("ping", [0.2, 0.2, 0.2], [0.1, 0.1, 0.3])):
                    for number, (theirs, mine) in enumerate(zip(baseline, ours), 1):
                        rows.write(f"{figure}\tbaseline\t{number}\t{theirs}\n")
                        rows.write(f"{figure}\tringvisor\t{number}\t{mine}\n")
            output = os.path.join(directory, "out.json")
            status, text, errors = run([path, "--figures", "polling", "--json", output])
            self.assertEqual(status, 0, errors)
            with open(output) as document:
                figures = {figure["figure"]: figure for figure in json.load(document)["figures"]}
        self.assertEqual(figures["rate_test"]["target_met"], "within the spread")
        self.assertFalse(figures["udp_echo"]["target_met"])
        self.assertTrue(figures["ping"]["target_met"])
        self.assertIn("vs --poll 0", text)
        self.assertIn(">= 1.0x: within the spread", text)

    def test_an_unknown_set_is_refused(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            run(["rounds.tsv", "--figures", "nonsense"])


if __name__ == "__main__":
    unittest.main()
