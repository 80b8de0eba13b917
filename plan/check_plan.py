#!/usr/bin/env python3
"""Check plan/vaxjo-integrationsplan.toml.

Usage: python3 plan/check_plan.py [PLAN.toml] [--source SEED.txt]

Checks that the file parses, that every id is a slug (^[a-z0-9]+(-[a-z0-9]+)*$) unique within
its kind, that every reference (challenge, focus_area, partners, challenges.focus_areas)
resolves, that nothing is defined but never used, and the expected counts (6 processes,
3 goals, 8 key indicators, 4 values, 8 principles, 3 definitions, 4 forums, 4 areas).
With --source, also checks that every Swedish text in the plan occurs verbatim in the
extracted plan text once whitespace is normalised (cells joined over line breaks).
Prints a short summary; exits 1 on any error.
"""
import re
import sys
import tomllib
from pathlib import Path

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EXPECTED = {
    "processes": 6, "goals": 3, "key_indicators": 8, "values": 4,
    "principles": 8, "definitions": 3, "forums": 4, "areas": 4,
}


def main(argv):
    args = list(argv[1:])
    source = None
    if "--source" in args:
        i = args.index("--source")
        source = Path(args[i + 1])
        del args[i:i + 2]
    path = Path(args[0]) if args else Path(__file__).with_name("vaxjo-integrationsplan.toml")

    errors = []
    with open(path, "rb") as f:
        plan = tomllib.load(f)

    if plan.get("schema") != 1:
        errors.append(f"schema is {plan.get('schema')!r}, expected 1")
    if not SLUG.match(plan.get("id", "")):
        errors.append(f"plan id {plan.get('id')!r} is not a slug")

    for kind, n in EXPECTED.items():
        got = len(plan.get(kind, []))
        if got != n:
            errors.append(f"{kind}: {got} entries, expected {n}")

    strategies = [
        s
        for p in plan.get("processes", [])
        for r in p.get("rows", [])
        for s in r.get("strategies", [])
    ]
    rows = [r for p in plan.get("processes", []) for r in p.get("rows", [])]

    kinds = {k: plan.get(k, []) for k in (
        "definitions", "goals", "key_indicators", "values", "principles", "challenges",
        "focus_areas", "partners", "processes", "forums", "areas")}
    kinds["strategies"] = strategies
    ids = {}
    for kind, items in kinds.items():
        seen = set()
        for item in items:
            i = item.get("id")
            if not isinstance(i, str) or not SLUG.match(i):
                errors.append(f"{kind}: id {i!r} is not a slug")
            elif len(i) > 45:
                errors.append(f"{kind}: id {i!r} is longer than 45 characters")
            if i in seen:
                errors.append(f"{kind}: duplicate id {i!r}")
            seen.add(i)
        ids[kind] = seen

    # references
    for c in plan.get("challenges", []):
        for fa in c.get("focus_areas", []):
            if fa not in ids["focus_areas"]:
                errors.append(f"challenge {c['id']}: unknown focus area {fa!r}")
    for p in plan.get("processes", []):
        if not p.get("rows"):
            errors.append(f"process {p['id']}: no rows")
        for r in p.get("rows", []):
            where = f"process {p['id']}, row {r.get('focus_area')!r}"
            if r.get("challenge") not in ids["challenges"]:
                errors.append(f"{where}: unknown challenge {r.get('challenge')!r}")
            if r.get("focus_area") not in ids["focus_areas"]:
                errors.append(f"{where}: unknown focus area {r.get('focus_area')!r}")
            if not isinstance(r.get("partners"), list):
                errors.append(f"{where}: partners missing (use [] for none)")
            for pa in r.get("partners", []):
                if pa not in ids["partners"]:
                    errors.append(f"{where}: unknown partner {pa!r}")
            if len(set(r.get("partners", []))) != len(r.get("partners", [])):
                errors.append(f"{where}: a partner is listed twice")
            if not r.get("strategies"):
                errors.append(f"{where}: no strategies")

    # key indicators: their source and the goals they follow
    goal_ids = ids["goals"]
    for k in plan.get("key_indicators", []):
        if k.get("source", "manual") not in ("kolada", "scb", "boverket", "manual"):
            errors.append(f"key indicator {k['id']}: unknown source {k.get('source')!r}")
        if (k.get("source") == "kolada") != ("kpi" in k):
            errors.append(f"key indicator {k['id']}: a Kolada indicator names its kpi, and only it")
        for g in k.get("goals", []):
            if g not in goal_ids:
                errors.append(f"key indicator {k['id']}: unknown goal {g!r}")

    # nothing defined but unused
    used_fa = {r["focus_area"] for r in rows} | {
        fa for c in plan.get("challenges", []) for fa in c.get("focus_areas", [])}
    used_ch = {r["challenge"] for r in rows} | {
        c["id"] for c in plan.get("challenges", []) if c.get("focus_areas")}
    used_pa = {pa for r in rows for pa in r.get("partners", [])}
    for kind, used in (("focus_areas", used_fa), ("challenges", used_ch), ("partners", used_pa)):
        for unused in sorted(ids[kind] - used):
            errors.append(f"{kind}: {unused!r} is never referenced")

    # texts occur verbatim in the source (whitespace-normalised)
    checked = 0
    if source is not None:
        norm = lambda s: " ".join(s.split())
        src = norm(source.read_text(encoding="utf-8"))
        texts = []

        def collect(v):
            if isinstance(v, str):
                texts.append(v)
            elif isinstance(v, list):
                for x in v:
                    collect(x)
            elif isinstance(v, dict):
                for k, x in v.items():
                    # Ids, references, and how Insats follows an indicator (not the plan's words).
                    if k not in ("id", "challenge", "focus_area", "partners", "focus_areas",
                                 "source", "kpi", "unit", "better", "goals", "gender_split",
                                 "target_value", "target_year", "source_note"):
                        collect(x)
        collect({k: v for k, v in plan.items() if k not in ("schema", "id")})
        for t in texts:
            for part in t.split("\n"):
                checked += 1
                if norm(part) not in src:
                    errors.append(f"text not found in source: {part!r}")

    # summary
    print(f"{path}: {plan.get('title')}")
    for p in plan.get("processes", []):
        n = sum(len(r.get("strategies", [])) for r in p.get("rows", []))
        print(f"  {p['id']}: {len(p.get('rows', []))} rows, {n} strategies")
    print(f"  strategies: {len(strategies)}, challenges: {len(ids['challenges'])}, "
          f"focus areas: {len(ids['focus_areas'])}, partners: {len(ids['partners'])}")
    print("  " + ", ".join(f"{k}: {len(plan.get(k, []))}" for k in EXPECTED))
    if source is not None:
        print(f"  {checked} texts checked against {source}")
    if errors:
        print(f"{len(errors)} error(s):")
        for e in errors:
            print("  - " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
