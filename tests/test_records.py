"""Records kept column by column become the same typed tables."""

from __future__ import annotations

import pytest

from meshsim.metrics.records import (
    _BATCH,
    CSR_COLUMNS,
    HANDSHAKE_COLUMNS,
    ROTATION_COLUMNS,
    Columns,
    Recorder,
)
from meshsim.metrics.tables import build_tables

# The pandas type of each kind of column.
KIND_DTYPES = {"float": "float64", "int": "int64", "bool": "bool",
               "str": "str"}  # fmt: skip


def test_columns_give_one_typed_table_column_per_field() -> None:
    recorder = Recorder()
    recorder.csrs.add(1.0, 2.5, 3.5, "agent-a", "spiffe://x/y", "issued",
                      1.0, 400, 900)  # fmt: skip
    recorder.csrs.add(4.0, 4.0, 4.0, "agent-b", "", "unreachable",
                      0.0, 0, 0)  # fmt: skip

    csrs = build_tables(recorder).csrs

    assert len(recorder.csrs) == 2
    assert list(csrs.columns) == [*(n for n, _ in CSR_COLUMNS), "wait_s"]
    assert csrs["started_s"].dtype == "float64"
    assert csrs["csr_bytes"].dtype == "int64"
    assert csrs["agent"].tolist() == ["agent-a", "agent-b"]
    assert csrs["wait_s"].tolist() == [1.5, 0.0]


@pytest.mark.parametrize("rows", [0, 2])
def test_every_span_column_has_the_type_of_its_kind(rows: int) -> None:
    recorder = Recorder()
    for index in range(rows):
        recorder.handshakes.add(0.0, 1.5, "c", "n1", "s", "n2", "svc",
                                "spiffe://x/y", "ok", "", -1, "",
                                index == 1, -1, 7)  # fmt: skip

    spans = build_tables(recorder).handshakes

    assert len(spans) == rows
    for name, kind in HANDSHAKE_COLUMNS:
        assert spans[name].dtype == KIND_DTYPES[kind], name
    assert spans["intercepted"].tolist() == [False, True][:rows]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    columns = Columns(CSR_COLUMNS)

    with pytest.raises(ValueError, match="row of 2 values for 9 columns"):
        columns.add(1.0, 2.0)

    assert len(columns) == 0


def test_rows_keep_their_order_across_batches() -> None:
    columns = Columns(ROTATION_COLUMNS[:2])
    count = 3 * _BATCH + 5

    for index in range(count):
        columns.add(float(index), f"agent-{index % 7}")

    assert len(columns) == count
    data = columns.frame_data()
    assert data["installed_s"].tolist() == [float(i) for i in range(count)]
    assert data["agent"] == [f"agent-{i % 7}" for i in range(count)]


def test_a_value_of_the_wrong_type_names_its_column_and_moves_no_row() -> None:
    columns = Columns((("agent", "str"), ("started_s", "float"),
                       ("attempts", "int")))  # fmt: skip
    columns.add("agent-a", 1.0, 1)
    columns.frame_data()  # the first row is in the columns now
    columns.add("agent-b", 2.0, 1)
    columns.add("agent-c", 3.0, 1.5)  # an int column cannot hold 1.5

    with pytest.raises(TypeError, match=r"^attempts: expected int, got 1\.5$"):
        columns.frame_data()

    # the columns still agree: nothing of the failed batch moved
    assert [len(column) for column in columns._columns] == [1, 1, 1]
    assert len(columns) == 3
