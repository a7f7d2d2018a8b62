"""Used by bench.py: records when the first test starts running (after the session fixtures)."""

import os
import time
from pathlib import Path


def test_first(db) -> None:  # type: ignore[no-untyped-def]
    Path(os.environ["BENCH_STAMP"]).write_text(repr(time.time()))
    assert db.execute("select count(*) from public.research_sessions").fetchone() is not None
