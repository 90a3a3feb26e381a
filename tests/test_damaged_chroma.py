"""A byte-flipped Chroma database made the embedded Chroma abort the whole process (a Rust panic, exit 134) on the
first open: every command, and the web server on one page load. The file is now checked before Chroma opens it,
so it is the one damaged-store message with what to do (run in a child process: a regression would abort it)."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_a_byte_flipped_chroma_database_is_one_message_not_an_abort(tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from lab.index.store import Store; c = Store().client.create_collection("
                    "'intact'); c.add(ids=['a'], embeddings=[[0.1, 0.2]], documents=['x'])"],
                   check=True, env=env, cwd=REPO)
    path = tmp_path / "chroma" / "chroma.sqlite3"
    data = bytearray(path.read_bytes())
    rng = random.Random(1)
    for i in rng.sample(range(4096, len(data)), 200):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "lab", "collections", "--json"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["kind"] == "DamagedStore" and "Move the folder aside" in document["error"]
    assert "panicked" not in done.stderr and path.read_bytes() == before  # nothing written to the damaged file
