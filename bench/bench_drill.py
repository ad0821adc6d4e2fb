"""Fault drill: doors write check-ins while their `kiosk-sync` agents, the venue broker and central are killed -9
at random (one door connects for the first time halfway through) and an intruder publishes forged peer admissions and
replays doors' event ids on other doors' `tx`; then prints kills by target, events, lost, duplicated, missing
peer admissions per door, forgeries and hijacks rejected.

    .venv/bin/python bench/bench_drill.py [--seconds 120] [--doors 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync_agent.signing import Signer, load_or_create_private_key, write_public_key
from tests.fixtures.broker import MosquittoBroker, mosquitto_binary
from tests.sync.conftest import Keys
from tests.sync.peer_drill import PeerDrill


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="how long the doors write and things get killed")
    p.add_argument("--doors", type=int, default=3, choices=(2, 3, 4))
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    binary = mosquitto_binary()
    if binary is None:
        sys.exit("mosquitto is not installed")
    with tempfile.TemporaryDirectory(prefix="drill-") as tmp:
        work = Path(tmp)
        private = load_or_create_private_key(work / "central.key")
        write_public_key(work / "central.pub", private)
        keys = Keys(work / "central.key", work / "central.pub", Signer(private))
        broker = MosquittoBroker(binary, work / "broker")
        broker.start()
        doors = ("door-a", "door-b", "door-c", "door-d")[: args.doors]
        drill = PeerDrill(work, broker, keys, doors, seed=args.seed)
        try:
            drill.run(args.seconds, late_door=doors[-1])
            report = drill.settle(timeout=120)
        finally:
            drill.close()
            broker.stop()
    print(f"drill: {args.seconds:.0f} s, {args.doors} doors, seed {args.seed}")
    print("\n".join(report.lines()))
    bad = report.lost or report.duplicated or any(report.missing.values()) or report.forgeries_accepted
    bad = bad or report.hijacks_accepted
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
