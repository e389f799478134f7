"""Every relation a dbt or lake build left, as JSON: the conformance
harness (tests/dbt/conformance.sh) compares dbt-core + dbt-duckdb's with
lake's, and records dbt's for the Rust test that runs the lake half.

usage: relations.py duckdb FILE | ducklake PROJECT_DIR   (JSON on stdout)

Per relation: schema, name, kind (table or view), columns with their
DuckDB types, and every row as text, sorted (a multiset); plus each data
test's status from target/run_results.json.
"""
import json
import os
import sys

import duckdb


def connect(kind, where):
    if kind == "duckdb":
        # DuckDB names a file's catalog after its stem (dbt.duckdb: dbt).
        return duckdb.connect(where, read_only=True), os.path.basename(where).split(".")[0]
    con = duckdb.connect()
    ext = os.environ.get("LAKE_EXTENSION_DIR", os.path.expanduser("~/.lake/extensions"))
    con.execute(f"SET extension_directory = '{ext}'")
    lake = os.path.join(where, ".lake")
    con.execute(
        f"ATTACH 'ducklake:{lake}/catalog.ducklake' AS lake "
        f"(DATA_PATH '{lake}/data/', READ_ONLY)"
    )
    return con, "lake"


def relations(con, catalog):
    listed = con.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = ? AND table_schema NOT LIKE '\\_%' ESCAPE '\\' "
        "ORDER BY 1, 2",
        [catalog],
    ).fetchall()
    out = []
    for schema, name, kind in listed:
        qualified = f'"{catalog}"."{schema}"."{name}"'
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [catalog, schema, name],
        ).fetchall()
        rows = con.execute(f"SELECT COLUMNS(*)::VARCHAR FROM {qualified}").fetchall()
        text = sorted([["NULL" if v is None else v for v in r] for r in rows])
        out.append({
            "schema": schema,
            "name": name,
            "kind": "view" if kind == "VIEW" else "table",
            "columns": [list(c) for c in columns],
            "rows": text,
        })
    return out


def tests(project):
    path = os.path.join(project, "target", "run_results.json")
    if not os.path.exists(path):
        return {}
    results = json.load(open(path))["results"]
    return {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results
        if r["unique_id"].startswith("test.")
    }


def main():
    kind, where = sys.argv[1], sys.argv[2]
    con, catalog = connect(kind, where)
    project = os.path.dirname(os.path.abspath(where)) if kind == "duckdb" else where
    json.dump({"relations": relations(con, catalog), "tests": tests(project)},
              sys.stdout, indent=1, sort_keys=True)
    print()


main()
