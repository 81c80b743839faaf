"""`icbox start` tunes the garbage collector for a large long-lived heap (issue 5 latency)."""

from __future__ import annotations

import gc

from gateway.cli import GC_THRESHOLDS, tune_gc


def test_tune_gc_makes_full_collections_rare_and_freezes_the_startup_heap():
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0] and GC_THRESHOLDS[2] > before[2]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
