"""DuckDB: an in-process SQL engine over the Parquet files, using every core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import Engine


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

    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = ()) -> dict[str, Any]:
        # Each view becomes a table of the same name in DuckDB's own columnar memory: the SQL text
        # and the relations name the table, and no query reads Parquet again. A label column
        # becomes an ENUM (codes, as db-benchmark's DuckDB script holds id1 and id2), one type per
        # column name across the tables, so that a join compares codes of the same type.
        enums = {}
        for col in labels:
            holding = [name for name in handles if col in self.con.table(name).columns]
            if holding:
                union = " UNION ".join(f'SELECT "{col}" FROM "{name}"' for name in holding)
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
