"""The timing bar's cells: proportional to each phase's time, every phase that took time visible."""

from studio.runtime.invocation import InvocationRecord
from studio.runtime.timing import bar_cells, phases, text_bar


def _record(**fields) -> InvocationRecord:
    return InvocationRecord(request_id="r", function_id="f", platform=None, kind=None, trigger="http",
                            method="GET", path="/", **fields)


def test_cells_are_proportional_and_fill_the_width():
    parts = [("wait", 100.0), ("cold start", 300.0), ("handler", 500.0), ("response", 100.0)]
    assert bar_cells(parts, 10) == [1, 3, 5, 1]
    assert bar_cells(parts, 20) == [2, 6, 10, 2]


def test_a_tiny_phase_keeps_one_cell_and_an_absent_one_gets_none():
    parts = [("wait", 0.0), ("cold start", 900.0), ("handler", 99.0), ("response", 0.3)]
    cells = bar_cells(parts, 20)
    assert cells[0] == 0 and cells[3] == 1 and sum(cells) == 20
    assert cells[1] > cells[2] > 0


def test_nothing_timed_draws_nothing():
    assert bar_cells([("wait", 0.0), ("handler", 0.0)], 10) == [0, 0]


def test_phases_come_from_the_record_and_the_response_is_the_rest():
    record = _record(duration_ms=50.0, wait_ms=10.0, init_ms=20.0, handler_ms=15.0)
    assert phases(record) == [("wait", 10.0), ("cold start", 20.0), ("handler", 15.0), ("response", 5.0)]
    assert phases(_record(duration_ms=5.0)) == []  # no handler time (an old row, a busy 503): no bar
    assert text_bar(_record(duration_ms=5.0)) is None


def test_the_text_bar_has_one_glyph_per_phase_and_the_numbers():
    bar = text_bar(_record(duration_ms=40.0, handler_ms=30.0), width=4)
    assert bar.startswith("███▓  ")
    assert "handler 30.0 ms" in bar and "response 10.0 ms" in bar and "wait" not in bar
