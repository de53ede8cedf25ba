#!/usr/bin/env python3
"""Learns the Mealy machine of a TLS peer over loopback with AALpy.

The learner never touches bytes: it talks to the wire mapper
(`examples/wire_mapper`, line protocol in ALPHABET.md), which turns each
abstract input into a message on a real TCP connection and what comes back
into one abstract output. This script starts the system under learning
(`--target`), the mapper in front of it, runs KV with a W-method equivalence
oracle, and writes the learned DOT and a summary.

  formal/learning/learn.py --target rsatls-server --alphabet ci
  formal/learning/learn.py --target rsatls-server --simulate formal/learning/expected/server.dot

Why KV (Kearns-Vazirani, Rivest-Schapire counterexample processing) rather
than L*: every query here is a TCP connection and each step waits for the
peer to go quiet, so the cost is in membership queries; KV's discrimination
tree asks one query per (state, discriminator) where L*'s observation table
fills a whole row per prefix and alphabet letter, so KV needs several times
fewer for wide alphabets (13 inputs) and the few states TLS peers have.

Why the W-method with 2 extra states: it proves the learned machine equal to
the system provided the system has at most n + 2 states (n learned). The
states a TLS peer could hide from the learner beyond the ones it finds are
pairs of what the table already has with one more bit of context (a second
ChangeCipherSpec seen, a renegotiation started, the key exchange done twice);
two extra states catch any one such bit reached through one more message,
which is where de Ruiter and Poll found the bugs they found. The test suite
is exhaustive for that bound, not sampled, so a run is reproducible.
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aalpy.base import SUL
from aalpy.learning_algs import run_KV
from aalpy.oracles import WMethodEqOracle
from aalpy.utils import load_automaton_from_file, save_automaton_to_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

SERVER_FULL = [
    "ClientHelloEMS", "ClientHelloNoEMS", "ClientKeyExchange",
    "ClientKeyExchangeBadPadding", "ChangeCipherSpec", "Finished",
    "FinishedWrong", "ApplicationData", "Alert", "EmptyCertificate",
    "ClientCertificate", "CertificateVerify", "UnknownRecord",
]
# The CI alphabet: the happy path, the one wrong Finished (the Finished
# check) and application data (the echo and the early-data refusal).
SERVER_CI = [
    "ClientHelloEMS", "ClientKeyExchange", "ChangeCipherSpec", "Finished",
    "FinishedWrong", "ApplicationData",
]
CLIENT_FULL = [
    "ServerHelloEMS", "ServerHelloNoEMS", "Certificate", "CertificateWrongKey",
    "CertificateRequest", "ServerHelloDone", "ChangeCipherSpec", "Finished",
    "FinishedWrong", "ApplicationData", "Alert",
]
CLIENT_CI = [
    "ServerHelloEMS", "Certificate", "ServerHelloDone", "ChangeCipherSpec",
    "Finished", "ApplicationData",
]

TARGETS = {
    "rsatls-server": "server",
    "rsatls-server-client-auth": "server",
    "rsatls-client": "client",
    "openssl-server": "server",
    "gnutls-server": "server",
}

# The expected machine each rsatls target is compared with.
EXPECTED = {
    "rsatls-server": "server.dot",
    "rsatls-server-client-auth": "server_client_auth.dot",
    "rsatls-client": "client.dot",
}


class Nondeterminism(Exception):
    """The system answered one input word two ways and re-asking did not settle it."""


class Mapper:
    """The wire mapper as a subprocess, spoken to one line at a time."""

    def __init__(self, argv, timeout=30.0):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=sys.stderr, text=True, bufsize=1)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            raise RuntimeError(f"mapper: no answer to {line!r} in {self.timeout} s")
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"mapper exited (status {self.proc.poll()}) on {line!r}")
        return answer.strip()

    def reset(self):
        answer = self.ask("reset")
        if answer != "ok":
            raise RuntimeError(f"mapper: reset answered {answer!r}")

    def step(self, letter):
        answer = self.ask(letter)
        if answer.startswith("error:"):
            raise RuntimeError(f"mapper: {letter} answered {answer!r}")
        return answer

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=5)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()


class Simulated:
    """A Mealy machine standing in for mapper and peer (to test the pipeline)."""

    def __init__(self, path):
        self.machine = load_automaton_from_file(path, "mealy")

    def reset(self):
        self.machine.reset_to_initial()

    def step(self, letter):
        return self.machine.step(letter)

    def close(self):
        pass


class CachedSUL(SUL):
    """The SUL AALpy sees: a cache in front of the real system.

    Queries are answered from a prefix cache when possible and replayed on the
    system lazily otherwise (the equivalence oracle steps letter by letter, so
    the cache works at the step level). Two facts of ALPHABET.md save most of
    the connections: a word that extends a cached one is only asked from where
    the cache ends, and after `Closed` every output is `Closed` (the sink).

    Non-determinism: a replayed prefix must give the cached outputs again. If
    it does not, the whole word is asked again (up to `retries` times); the
    disagreement is recorded in `self.disagreements` either way, and if no
    retry agrees with the cache the run stops (Nondeterminism).
    """

    def __init__(self, backend, retries=3):
        super().__init__()
        self.backend = backend
        self.retries = retries
        self.cache = {}  # input word (tuple) -> output of its last letter
        self.word = ()
        self.live = False  # the backend has run self.word
        self.resets = 0
        self.steps = 0
        self.disagreements = []

    def pre(self):
        self.word = ()
        self.live = False

    def post(self):
        pass

    def _ask_system(self, word):
        """Runs `word` on a fresh connection; returns its outputs."""
        self.backend.reset()
        self.resets += 1
        outputs = []
        for letter in word:
            self.steps += 1
            outputs.append(self.backend.step(letter))
        return outputs

    def _replay(self):
        """Brings a fresh connection to the end of self.word, checking the cache."""
        for attempt in range(self.retries + 1):
            outputs = self._ask_system(self.word)
            cached = [self.cache[self.word[:i + 1]] for i in range(len(self.word))]
            if outputs == cached:
                return
            self.disagreements.append({
                "word": list(self.word), "cached": cached, "observed": outputs,
                "attempt": attempt + 1})
            print(f"non-determinism: {self.word} answered {outputs}, "
                  f"cached {cached}; asking again", file=sys.stderr)
        raise Nondeterminism(f"{self.word}: no retry agrees with the cache")

    def step(self, letter):
        prev = self.word
        self.word = prev + (letter,)
        if self.word in self.cache:
            return self.cache[self.word]
        if prev and self.cache.get(prev, "").endswith("Closed"):
            out = "Closed"
        else:
            if not self.live:
                self.word = prev
                self._replay()
                self.word = prev + (letter,)
                self.live = True
            self.steps += 1
            out = self.backend.step(letter)
        self.cache[self.word] = out
        return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def start_rsatls_server(rsatls, client_auth):
    """`rsatls serve` on a free port, its address from its `listening on` line."""
    argv = [rsatls, "serve", "--listen", "127.0.0.1:0",
            "--cert", str(DATA / "mtls/server.cert.pem"),
            "--key", str(DATA / "mtls/server.key.pem")]
    if client_auth:
        argv += ["--client-ca", str(DATA / "mtls/ca.cert.pem")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (\S+)", line)
        if m:
            # Keep draining the log so the server never blocks on its pipe.
            drain = subprocess.Popen(["cat"], stdin=proc.stdout,
                                     stdout=subprocess.DEVNULL)
            return proc, m.group(1), [drain]
    proc.kill()
    raise RuntimeError("rsatls serve did not say where it listens")


def start_openssl_server():
    port = free_port()
    # No echo: s_server prints what it reads. With its -rev echo mode, a
    # replayed ClientHello stopped getting a ServerHello part-way through a
    # run (the cache reported it as non-determinism and the run stopped).
    argv = ["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}",
            "-cert", str(DATA / "mtls/server.cert.pem"),
            "-key", str(DATA / "mtls/server.key.pem"),
            "-tls1_2", "-cipher", "AES128-GCM-SHA256"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, f"127.0.0.1:{port}", []


def start_gnutls_server():
    port = free_port()
    # --disable-client-cert: gnutls-serv asks for an (optional) client
    # certificate by default; rsatls serve and s_server do not.
    argv = ["gnutls-serv", "--echo", "--disable-client-cert", "-p", str(port),
            "--x509certfile", str(DATA / "mtls/server.cert.pem"),
            "--x509keyfile", str(DATA / "mtls/server.key.pem"),
            "--priority", "NORMAL:-KX-ALL:+RSA:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, f"127.0.0.1:{port}", []


def mapper_argv(args, target):
    """Starts the system under learning; returns the mapper's argv and the processes to stop."""
    mapper = str(args.mapper)
    rsatls = str(args.rsatls)
    quiet = ["--quiet-ms", str(args.quiet_ms)]
    if target == "rsatls-client":
        pin = (DATA / "rsa2048.pin").read_text().strip()
        return [mapper, "client-side", "--listen", "127.0.0.1:0",
                "--server-cert", str(DATA / "rsa2048.cert.pem"),
                "--server-key", str(DATA / "rsa2048.key.pem"),
                "--wrong-cert", str(DATA / "other2048.cert.pem"), *quiet, "--",
                rsatls, "connect", "{addr}", "--servername", "localhost",
                "--pin", pin], []
    if target.startswith("rsatls-server"):
        proc, addr, extra = start_rsatls_server(rsatls, target.endswith("client-auth"))
    elif target == "openssl-server":
        proc, addr, extra = start_openssl_server()
    else:
        proc, addr, extra = start_gnutls_server()
    return [mapper, "server-side", "--connect", addr,
            "--server-cert", str(DATA / "mtls/server.cert.pem"),
            "--client-cert", str(DATA / "mtls/client.cert.pem"),
            "--client-key", str(DATA / "mtls/client.key.pem"), *quiet], [proc, *extra]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", choices=sorted(TARGETS), required=True)
    p.add_argument("--alphabet", choices=["full", "ci"], default="full")
    p.add_argument("--extra-states", type=int, default=2,
                   help="W-method: equivalence is proved for systems of up to n + this many states")
    p.add_argument("--simulate", type=Path,
                   help="learn this DOT machine instead of a real system (tests the pipeline)")
    p.add_argument("--mapper", type=Path, default=ROOT / "target/release/examples/wire_mapper")
    p.add_argument("--rsatls", type=Path, default=ROOT / "target/release/rsatls")
    p.add_argument("--quiet-ms", type=int, default=40)
    p.add_argument("--out", type=Path, default=ROOT / "formal/learning/learned")
    p.add_argument("--name", help="file name stem of the outputs (default: the target)")
    args = p.parse_args()

    side = TARGETS[args.target]
    alphabet = {("server", "full"): SERVER_FULL, ("server", "ci"): SERVER_CI,
                ("client", "full"): CLIENT_FULL, ("client", "ci"): CLIENT_CI}[(side, args.alphabet)]
    name = args.name or (args.target if args.alphabet == "full" else f"{args.target}-ci")

    procs = []
    if args.simulate:
        backend = Simulated(args.simulate)
    else:
        argv, procs = mapper_argv(args, args.target)
        backend = Mapper(argv)
    sul = CachedSUL(backend)
    started = time.time()
    try:
        # The oracle's bound is n + extra states for the hypothesis it is
        # handed; AALpy's WMethodEqOracle takes the bound itself, so it is
        # raised with each hypothesis (see BoundedWMethod).
        eq = BoundedWMethod(alphabet, sul, args.extra_states)
        model, info = run_KV(alphabet, sul, eq, automaton_type="mealy",
                             cex_processing="rs", cache_and_non_det_check=False,
                             return_data=True, print_level=1)
    finally:
        backend.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
    wall = time.time() - started

    args.out.mkdir(parents=True, exist_ok=True)
    dot = args.out / f"{name}.dot"
    save_automaton_to_file(model, str(dot.with_suffix("")), file_type="dot")
    summary = {
        "target": args.target,
        "alphabet": args.alphabet,
        "inputs": alphabet,
        "simulated": bool(args.simulate),
        "algorithm": "KV (Rivest-Schapire counterexamples)",
        "equivalence": f"W-method, {args.extra_states} extra states",
        "states": len(model.states),
        "learning_rounds": info.get("learning_rounds"),
        "membership_queries": info.get("queries_learning"),
        "membership_steps": info.get("steps_learning"),
        "equivalence_queries": info.get("queries_eq_oracle"),
        "equivalence_steps": info.get("steps_eq_oracle"),
        "system_connections": sul.resets,
        "system_steps": sul.steps,
        "nondeterminism": sul.disagreements,
        "wall_seconds": round(wall, 1),
        "quiet_ms": args.quiet_ms,
    }
    (args.out / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "inputs"}, indent=2))
    print(f"learned {dot}")
    return 0


class BoundedWMethod(WMethodEqOracle):
    """AALpy's W-method with the bound expressed as extra states.

    `WMethodEqOracle(max_number_of_states=m)` tests middles of up to
    m + 1 - n letters for a hypothesis of n states; learning grows n, so a
    fixed m would shrink the depth as the model grows. Here m is set to
    n + extra on each call: the middle part is always extra + 1 letters.
    """

    def __init__(self, alphabet, sul, extra):
        super().__init__(alphabet, sul, max_number_of_states=extra)
        self.extra = extra

    def find_cex(self, hypothesis):
        self.m = len(hypothesis.states) + self.extra
        return super().find_cex(hypothesis)


if __name__ == "__main__":
    sys.exit(main())
