#!/usr/bin/env python3
"""The learning pipeline's own test, without a network: learn.py --simulate on
each expected machine must give back an equivalent machine, and on a copy
with one transition changed (ChangeCipherSpec accepted in
ExpectClientKeyExchange: the issue's broken engine) compare.py must find the
difference. Exit 0 when both hold."""

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
BROKEN = ('ExpectClientKeyExchange -> Closed [label="ChangeCipherSpec/'
          'Alert(fatal,unexpected_message)|Closed"];',
          'ExpectClientKeyExchange -> ExpectClientKeyExchange '
          '[label="ChangeCipherSpec/NoResponse"];')


def learn(machine, target, out):
    subprocess.run([sys.executable, HERE / "learn.py", "--target", target,
                    "--simulate", machine, "--out", out, "--name", "sim"],
                   check=True, stdout=subprocess.DEVNULL)
    return Path(out) / "sim.dot"


def compare(learned, expected):
    return subprocess.run([sys.executable, HERE / "compare.py", learned, expected],
                          stdout=subprocess.PIPE, text=True)


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as out:
        for dot, target in [("server.dot", "rsatls-server"),
                            ("server_client_auth.dot", "rsatls-server-client-auth"),
                            ("client.dot", "rsatls-client")]:
            r = compare(learn(EXPECTED / dot, target, out), EXPECTED / dot)
            print(f"{dot}: simulated learning gives back the machine: exit {r.returncode}")
            failures += r.returncode != 0
        text = (EXPECTED / "server.dot").read_text()
        assert text.count(BROKEN[0]) == 1
        broken = Path(out) / "broken.dot"
        broken.write_text(text.replace(*BROKEN))
        r = compare(learn(broken, "rsatls-server", out), EXPECTED / "server.dot")
        print(f"broken server: compare.py exit {r.returncode}")
        print(r.stdout, end="")
        failures += r.returncode != 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
