"""Costs of a first call outside the passes: check parses with the collector paused (as
generate does), and resumes it after."""

import gc

import ast_ad
from ast_ad import pipeline


def scaled(x):
    return 2.0 * x


def test_check_parses_with_the_collector_paused(monkeypatch):
    seen = []
    parse = pipeline.parse

    def recording(src):
        seen.append(gc.isenabled())
        return parse(src)

    monkeypatch.setattr(pipeline, "parse", recording)
    was = gc.isenabled()
    gc.enable()
    try:
        ast_ad.grad(scaled)
        assert seen == [False] and gc.isenabled()
    finally:
        if not was:
            gc.disable()
