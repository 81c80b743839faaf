"""`icbox start` tunes the garbage collector for a large long-lived heap (issue 5 latency)."""

from __future__ import annotations

import gc

from gateway.cli import GC_THRESHOLDS, tune_gc


def test_tune_gc_keeps_young_collections_only_and_freezes_the_startup_heap():
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0]  # young collections, less often than default
        assert min(GC_THRESHOLDS[1:]) >= 10**9  # older generations: never in practice
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
