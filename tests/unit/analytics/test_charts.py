"""Server-side charts: accessible, escaped, and drawn with attributes only (strict CSP)."""

from __future__ import annotations

import re

from meterwall.analytics.charts import bar_chart, line_chart, nice_ceiling


def test_a_chart_is_labelled_by_its_title_and_description() -> None:
    svg = str(line_chart("Readers", "Readers per day.", ["d1", "d2"], [("Visitors", [3, 7])]))
    chart_id = re.search(r'aria-labelledby="(chart-\w+)-t', svg)
    assert chart_id is not None
    assert f'<title id="{chart_id[1]}-t">Readers</title>' in svg
    assert f'<desc id="{chart_id[1]}-d">Readers per day.</desc>' in svg
    assert 'role="img"' in svg
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg


def test_text_is_escaped() -> None:
    svg = str(bar_chart("<b>x</b>", "a & b", ["<i>"], [("<s>", [1])]))
    assert "<b>" not in svg and "<i>" not in svg and "<s>" not in svg
    assert "&lt;b&gt;" in svg and "a &amp; b" in svg


def test_no_data_says_so() -> None:
    assert "No data yet" in str(line_chart("T", "D", [], []))
    assert "No data yet" in str(bar_chart("T", "D", ["a"], [("s", [0])]))


def test_percent_axes_and_nice_ceilings() -> None:
    svg = str(bar_chart("Rates", "D", ["a", "b"], [("rate", [0.02, 0.05])], percent=True))
    assert "100%" in svg and "2.0%" in svg
    assert [nice_ceiling(v) for v in (0, 0.7, 3, 11, 240, 999)] == [1, 1, 5, 20, 250, 1000]
