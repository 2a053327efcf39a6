"""DuckDB: an in-process SQL engine over the Parquet files, using every core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import Engine


# A label column is held as an ENUM when it has few distinct values: at most ENUM_FEW, or at most one
# per ENUM_SHARE rows (groupby's id3, 1% of the rows, and join's id6, one per row, stay VARCHAR).
ENUM_FEW = 1000
ENUM_SHARE = 200


class DuckDBEngine(Engine):
    name = "duckdb"
    description = "DuckDB, in process, vectorised SQL on Parquet"
    sql = True
    lazy = True
    result_modules = ("duckdb", "_duckdb")

    def __init__(self, threads: int | None = None):
        super().__init__()
        self.threads = threads
        self.con = None
        self._answers = 0
        self._owned: set[str] = set()        # tables made by hold and keep, dropped by release

    def _start(self) -> None:
        import duckdb

        self.con = duckdb.connect()
        if self.threads:
            self.con.execute(f"SET threads = {int(self.threads)}")

    def stop(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        super().stop()

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        # Views, not tables: each query reads the Parquet files (and pushes filters into them). Made
        # through the relation API, so a path is a value, never pasted into SQL text (a folder named
        # q'x would end the string literal).
        for name, path in tables.items():
            self.con.read_parquet(f"{path}/*.parquet").create_view(name, replace=True)
        return {name: self.con.table(name) for name in tables}

    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        # Each view becomes a table of the same name in DuckDB's own columnar memory: the SQL text
        # and the relations name the table, and no query reads Parquet again. A label column of few
        # distinct values becomes an ENUM (codes, as db-benchmark's DuckDB script holds groupby's id1
        # and id2 and join's id4 and id5), one type per column name across the tables, so that a join
        # compares codes of the same type. One of many values stays VARCHAR, as that script keeps
        # groupby's id3 (1% of the rows) and join's id6 (every row its own): a table made from a query
        # carries its ENUM types along, and a million-entry one cost each join answer 10 ms at small.
        enums = {}
        for col in labels:
            holding = [name for name in handles if col in self.con.table(name).columns]
            if holding:
                union = " UNION ALL ".join(f'SELECT "{col}" FROM "{name}"' for name in holding)
                distinct, rows = self.con.execute(f'SELECT count(DISTINCT "{col}"), count(*) FROM ({union})').fetchone()
                if distinct > max(ENUM_FEW, rows // ENUM_SHARE):
                    continue
                enums[col] = f"scalelab_{col}_labels"
                self.con.execute(f'DROP TYPE IF EXISTS "{enums[col]}"')
                self.con.execute(f'CREATE TYPE "{enums[col]}" AS ENUM (SELECT DISTINCT "{col}" FROM ({union}) '
                                 f'WHERE "{col}" IS NOT NULL ORDER BY 1)')
        for name in handles:
            columns = ", ".join(f'"{c}"::"{enums[c]}" AS "{c}"' if c in enums else f'"{c}"'
                                for c in self.con.table(name).columns)
            self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}__held" AS SELECT {columns} FROM "{name}"')
            self.con.execute(f'DROP VIEW "{name}"')
            self.con.execute(f'ALTER TABLE "{name}__held" RENAME TO "{name}"')
            self._owned.add(name)
        return {name: self.con.table(name) for name in handles}

    def keep(self, result: Any) -> Any:
        # db-benchmark's DuckDB script: CREATE TABLE ans AS <the query>.
        if not hasattr(result, "create"):
            return result
        self._answers += 1
        name = f"scalelab_answer_{self._answers}"
        result.create(name)
        self._owned.add(name)
        return self.con.table(name)

    def release(self, kept: Any) -> None:
        alias = getattr(kept, "alias", None)
        if alias in self._owned:           # a table hold or keep made; the next load makes views again
            self.con.execute(f'DROP TABLE IF EXISTS "{alias}"')
            self._owned.discard(alias)

    def run_sql(self, text: str, handles: dict[str, Any]) -> Any:
        return self.con.sql(text)

    @classmethod
    def collect(cls, result: Any) -> pd.DataFrame:
        return result.df() if hasattr(result, "df") else result

    @classmethod
    def for_bench(cls, cores: int) -> DuckDBEngine:
        return cls(threads=cores)

    def cores(self) -> int:
        # fetchall, not fetchone: a half-read result would block the next statement on the connection.
        return int(self.con.execute("SELECT current_setting('threads')").fetchall()[0][0])

    def versions(self) -> dict[str, str]:
        import duckdb

        return {**super().versions(), "duckdb": duckdb.__version__}
