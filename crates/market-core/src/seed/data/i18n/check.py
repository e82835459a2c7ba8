#!/usr/bin/env python3
"""Validates the translation files of this folder against the seed data in the Rust code.

    python3 src/seed/data/i18n/check.py [--src PATH_TO_src/seed]

It reads the demo catalog, the reference data, the market word lists and the compliance
codes straight from the Rust sources (plain text parsing, nothing is compiled), then
checks that every key is translated exactly once, that no cell is empty, that Arabic cells
are in Arabic script and Tamazight cells in Tifinagh, that French differs from English
where it should, and that the relevance queries name existing, sellable products.
Exit status 0 when everything holds, 1 otherwise (every problem is listed).
"""

import argparse
import csv
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)


# --- reading the Rust sources -------------------------------------------------------


def read(src, name):
    path = src / name
    if not path.exists():
        sys.exit(f"check.py: {path} not found; pass --src with the folder holding the seed sources")
    return path.read_text(encoding="utf-8")


def slugify(name):
    """The code's slugify (deunicode, lower case, runs of non-alphanumerics -> '-'), for
    the Latin-1 letters the catalog uses."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    if any(ord(c) > 127 for c in folded):
        problem(f"slugify: {name!r} has letters this checker cannot fold like deunicode")
    out = ""
    for ch in folded.lower():
        if ch.isascii() and ch.isalnum():
            out += ch
        elif out and not out.endswith("-"):
            out += "-"
    return out.rstrip("-")


def parse_reference(text):
    segments = re.findall(r'segment\("([^"]+)", "([^"]+)", (\w+), "([A-Z]+)"\)', text)
    regions = []
    for code, name, provs in re.findall(
        r'code: "(MA-\d\d)",\s*name: "([^"]+)",\s*provinces: &\[(.*?)\]', text, re.S
    ):
        regions.append((code, name, re.findall(r'"([^"]+)"', provs)))
    return segments, regions


def parse_catalog(text, prefixes):
    body = text[text.index("pub(super) const COOPERATIVES"):]
    inactive = re.findall(r'"([A-Z]{3}-[A-Z]{3}-\d{3})"', re.search(r"const INACTIVE[^;]*;", text).group(0))
    coops, products = [], []
    for block in re.split(r"\n    CoopSeed \{", body)[1:]:
        coop = {
            "code": re.search(r'\bcode: "([^"]+)"', block).group(1),
            "name": re.search(r'\bname: "([^"]+)"', block).group(1),
            "kind": re.search(r"\bkind: (\w+)", block).group(1),
            "status": re.search(r"\bstatus: (\w+)", block).group(1),
            "description": re.search(r'\bdescription: "([^"]+)"', block).group(1),
        }
        coop["slug"] = slugify(coop["name"])
        coops.append(coop)
        n = 0
        for m in re.finditer(
            r'line\(\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",\s*&\[(.*?)\],?\s*\)', block, re.S
        ):
            segment, name, description, fmts = m.groups()
            for fmt in re.findall(r'\("([^"]+)",\s*[\d_]+\)', fmts):
                n += 1
                products.append({
                    "sku": f"{prefixes[segment]}-{coop['code']}-{n:03}",
                    "coop": coop["code"],
                    "segment": segment,
                    "name": name,
                    "description": description,
                    "format": fmt,
                    "active": None,
                })
    for p in products:
        p["active"] = p["sku"] not in inactive
    return coops, products


def parse_certs(text):
    """(coop, type, revoked, issued_days_ago, expires_in_days or None, covered SKUs or None)."""
    certs = []
    body = text[text.index("pub(super) const CERTIFICATIONS"):]
    call = r'cert\(\s*"(\w+)",\s*(\w+),\s*"[^"]*",\s*[^,]+,\s*(-?\d+),\s*(None|Some\((-?\d+)\)),?\s*\)'
    spans = []
    for m in re.finditer(r"CertSeed \{(.*?)\.\.(" + call + r")\s*\}", body, re.S):
        head, inner = m.group(1), re.match(call, m.group(2))
        only = re.search(r"Coverage::Only\(&\[(.*?)\]\)", head, re.S)
        certs.append((
            inner.group(1), inner.group(2), "revoked: Some" in head, int(inner.group(3)),
            int(inner.group(5)) if inner.group(5) else None,
            re.findall(r'"([^"]+)"', only.group(1)) if only else None,
        ))
        spans.append(m.span())
    for m in re.finditer(call, body):
        if any(a <= m.start() < b for a, b in spans):
            continue
        certs.append((m.group(1), m.group(2), False, int(m.group(3)),
                      int(m.group(5)) if m.group(5) else None, None))
    return certs


def parse_requirements(text):
    req = {}
    for kind, accepted in re.findall(
        r"kind: CooperativeKind::(\w+),\s*accepted: &\[(.*?)\]", text, re.S
    ):
        req[kind] = set(re.findall(r"CertificationType::(\w+)", accepted))
    return req


def sellable_skus(coops, products, certs, requirements):
    by_code = {c["code"]: c for c in coops}
    out = set()
    for p in products:
        coop = by_code[p["coop"]]
        if not p["active"] or coop["status"] == "Suspended":
            continue
        needed = requirements.get(coop["kind"])
        if needed:
            ok = any(
                c[0] == coop["code"] and c[1] in needed and not c[2] and c[3] >= 0
                and (c[4] is None or c[4] >= 0) and (c[5] is None or p["sku"] in c[5])
                for c in certs
            )
            if not ok:
                continue
        out.add(p["sku"])
    return out


def screaming(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


# --- reading the CSV files ----------------------------------------------------------


def load(name, header):
    path = HERE / name
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problem(f"{name}: starts with a byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problem(f"{name}: not UTF-8 ({e})")
        return []
    rows = list(csv.reader(text.splitlines(keepends=True)))
    if not rows or rows[0] != header:
        problem(f"{name}: header {rows[0] if rows else None} instead of {header}")
        return []
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problem(f"{name}:{i}: {len(row)} cells instead of {len(header)}")
            continue
        for col, cell in zip(header, row):
            where = f"{name}:{i} {col}"
            if not cell.strip():
                problem(f"{where}: empty")
            elif cell != cell.strip() or "  " in cell:
                problem(f"{where}: stray spaces in {cell!r}")
            if "\u2019" in cell:
                problem(f"{where}: typographic apostrophe (use ')")
            if re.search(r"[\u064B-\u0652\u0640]", cell) and not name.startswith("relevance"):
                problem(f"{where}: tashkeel or tatweel in catalog text")
            if col.endswith("_ar") or col == "ar":
                check_script(where, cell, "arabic")
            elif col.endswith("_zgh"):
                check_script(where, cell, "tifinagh")
            elif col.endswith("_fr") or col == "fr":
                if re.search(r"[\u0600-\u06FF]", cell):
                    problem(f"{where}: Arabic letters in a French cell")
        out.append(dict(zip(header, row)))
    return out


def check_script(where, cell, script):
    text = re.sub(r"\{[^}]*\}", "", cell)
    letters = [c for c in text if c.isalpha()]
    if not letters:
        problem(f"{where}: no letters")
        return
    if script == "arabic":
        native = [c for c in letters if "\u0600" <= c <= "\u06FF"]
    else:
        native = [c for c in letters if "\u2D30" <= c <= "\u2D7F"]
    # A few Latin letters are fine (ISO 22716, vitamin E, A5).
    if len(native) < 0.6 * len(letters):
        problem(f"{where}: not written in {script} script: {cell!r}")


def exactly_once(name, rows, key, expected):
    keys = [key(r) for r in rows]
    seen = set()
    for k in keys:
        if k in seen:
            problem(f"{name}: {k} appears more than once")
        seen.add(k)
    for k in expected:
        if k not in seen:
            problem(f"{name}: {k} missing")
    for k in seen - set(expected):
        problem(f"{name}: {k} is not in the code")


def numeric_only(text):
    """Dimensions and quantities read the same in French and English."""
    return re.fullmatch(r"[\d ×.,]*(cm|ml|L|g|kg)?", text) is not None


# Words that are the same in French and English (dish names, proper names).
SAME_IN_FRENCH = {"Sellou", "Ras el hanout", "Amlou beldi", "Olives"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=HERE.parent.parent,
                        help="the folder with catalog.rs, reference.rs, certs.rs, market.rs (default: src/seed)")
    args = parser.parse_args()
    src = args.src
    segments, regions = parse_reference(read(src, "reference.rs"))
    prefixes = {slug: prefix for slug, _, _, prefix in segments}
    coops, products = parse_catalog(read(src, "catalog.rs"), prefixes)
    market = read(src, "market.rs")
    compliance_rs = read(src.parent / "domain", "compliance.rs")
    certs = parse_certs(read(src, "certs.rs"))
    requirements = parse_requirements(compliance_rs)
    sellable = sellable_skus(coops, products, certs, requirements)
    if len(coops) != 40 or not products:
        problem(f"parsed {len(coops)} cooperatives and {len(products)} products: has catalog.rs changed shape?")

    # products.csv and product_lines.csv
    prow = load("products.csv", ["sku", "name_fr", "name_ar", "description_fr", "description_ar"])
    exactly_once("products.csv", prow, lambda r: r["sku"], [p["sku"] for p in products])
    lines = load("product_lines.csv", ["name_en", "description_en", "name_fr", "name_ar",
                                       "description_fr", "description_ar"])
    exactly_once("product_lines.csv", lines, lambda r: (r["name_en"], r["description_en"]),
                 list(dict.fromkeys((p["name"], p["description"]) for p in products)))
    by_line = {(r["name_en"], r["description_en"]): r for r in lines}
    by_sku = {r["sku"]: r for r in prow}
    for p in products:
        r, line = by_sku.get(p["sku"]), by_line.get((p["name"], p["description"]))
        if not r or not line:
            continue
        for col in ("name_fr", "name_ar", "description_fr", "description_ar"):
            if r[col] != line[col]:
                problem(f"products.csv {p['sku']} {col} differs from product_lines.csv")
        if r["name_fr"] == p["name"] and p["name"] not in SAME_IN_FRENCH:
            problem(f"products.csv {p['sku']}: name_fr identical to English {p['name']!r}")
        if r["description_fr"] == p["description"]:
            problem(f"products.csv {p['sku']}: description_fr identical to English")
    names_by_en = {}
    for r in lines:
        names_by_en.setdefault(r["name_en"], set()).add((r["name_fr"], r["name_ar"]))
    for name, variants in names_by_en.items():
        if len(variants) > 1:
            problem(f"product_lines.csv: {name!r} is translated in {len(variants)} different ways")

    # formats.csv
    frows = load("formats.csv", ["format_en", "format_fr", "format_ar"])
    exactly_once("formats.csv", frows, lambda r: r["format_en"],
                 list(dict.fromkeys(p["format"] for p in products)))
    for r in frows:
        if r["format_fr"] == r["format_en"] and not numeric_only(r["format_en"]):
            problem(f"formats.csv: {r['format_en']!r} not translated into French")

    # cooperatives.csv
    crows = load("cooperatives.csv", ["slug", "name_fr", "name_ar", "description_fr", "description_ar"])
    exactly_once("cooperatives.csv", crows, lambda r: r["slug"], [c["slug"] for c in coops])
    by_slug = {c["slug"]: c for c in coops}
    for r in crows:
        c = by_slug.get(r["slug"])
        if c and r["name_fr"] != c["name"]:
            problem(f"cooperatives.csv {r['slug']}: name_fr {r['name_fr']!r} is not the registered name {c['name']!r}")
        if c and r["description_fr"] == c["description"]:
            problem(f"cooperatives.csv {r['slug']}: description_fr identical to English")

    # segments.csv
    srows = load("segments.csv", ["slug", "name_fr", "name_ar", "description_fr", "description_ar",
                                  "description_en"])
    exactly_once("segments.csv", srows, lambda r: r["slug"], [s[0] for s in segments])
    seg_en = {s[0]: s[1] for s in segments}
    for r in srows:
        if r["name_fr"] == seg_en.get(r["slug"]) and r["name_fr"] not in SAME_IN_FRENCH:
            problem(f"segments.csv {r['slug']}: name_fr identical to English")
        if r["description_fr"] == r["description_en"]:
            problem(f"segments.csv {r['slug']}: description_fr identical to description_en")

    # regions.csv, provinces.csv
    rrows = load("regions.csv", ["code", "name_fr", "name_ar"])
    exactly_once("regions.csv", rrows, lambda r: r["code"], [r[0] for r in regions])
    vrows = load("provinces.csv", ["region_code", "name", "name_fr", "name_ar"])
    exactly_once("provinces.csv", vrows, lambda r: (r["region_code"], r["name"]),
                 [(code, p) for code, _, provs in regions for p in provs])

    # zgh_sample.csv
    zrows = load("zgh_sample.csv", ["kind", "key", "name_zgh", "latin_transliteration"])
    exactly_once("zgh_sample.csv", zrows, lambda r: (r["kind"], r["key"]),
                 [("region", r[0]) for r in regions] + [("segment", s[0]) for s in segments])

    # market_words.csv: every word and template piece of cooperative_name() and describe()
    mrows = load("market_words.csv", ["kind", "source", "variant", "fr", "ar", "note"])
    sources = {(r["kind"], r["source"]) for r in mrows}
    words = re.findall(r'"([^"]+)"', re.search(r"const NAME_WORDS[^;]*;", market, re.S).group(0))
    for w in words:
        if ("name_word", w) not in sources:
            problem(f"market_words.csv: name word {w!r} missing")
    for w in {r["source"] for r in mrows if r["kind"] == "name_word"} - set(words):
        problem(f"market_words.csv: name word {w!r} is not in market.rs")
    fn = market[market.index("fn cooperative_name"):market.index("fn product_targets")]
    pieces = set(re.findall(r'"([A-Z][^"{}]*|d\'[^"{}]+|de [^"{}]+|des [^"{}]+)"', fn))
    pieces = {p.strip() for p in pieces if p.strip() and not p.startswith("market/")}
    for p in pieces:
        kind = "prefix" if p == "Coopérative" else "feminine" if p == "Féminine" else "activity"
        if (kind, p) not in sources:
            problem(f"market_words.csv: {kind} {p!r} of cooperative_name() missing")
    for kind, src_text in (("place", "de {province}"), ("place", "d'{province}"),
                           ("who", "members"), ("who", "women")):
        if (kind, src_text) not in sources:
            problem(f"market_words.csv: {kind} {src_text!r} missing")
    if not any(r["kind"] == "description" for r in mrows):
        problem("market_words.csv: the description template of describe() is missing")

    # compliance_messages.csv
    comp = load("compliance_messages.csv", ["code", "message_en", "message_fr", "message_ar"])
    enum = re.search(r"pub enum IssueCode \{(.*?)\}", compliance_rs, re.S).group(1)
    codes = [screaming(v) for v in re.findall(r"(\w+),", enum)]
    have = {r["code"] for r in comp}
    for code in codes:
        if code not in have:
            problem(f"compliance_messages.csv: {code} missing")
    for kind in requirements:
        if f"requirement:{kind.upper()}" not in have:
            problem(f"compliance_messages.csv: requirement:{kind.upper()} missing")
    for r in comp:
        if r["message_fr"] == r["message_en"]:
            problem(f"compliance_messages.csv {r['code']}: French identical to English")
        placeholders = [set(re.findall(r"\{\w+\}", r[c])) for c in ("message_en", "message_fr", "message_ar")]
        if placeholders[0] != placeholders[1] or placeholders[0] != placeholders[2]:
            problem(f"compliance_messages.csv {r['code']}: placeholders differ between languages")

    # relevance_queries.csv, relevance_broad_queries.csv
    skus = {p["sku"] for p in products}
    qrows = load("relevance_queries.csv", ["query", "language", "expected_top3_skus", "relevant_skus", "note"])
    brows = load("relevance_broad_queries.csv", ["query", "language", "relevant_skus", "note"])
    languages = {"fr", "ar", "en", "ary", "mixed"}
    if len(qrows) < 60:
        problem(f"relevance_queries.csv: {len(qrows)} queries, at least 60 wanted")
    seen_queries = set()
    for r in qrows + brows:
        q = r["query"]
        if q in seen_queries:
            problem(f"relevance: query {q!r} twice")
        seen_queries.add(q)
        if r["language"] not in languages:
            problem(f"relevance: {q!r} language {r['language']!r} not one of {sorted(languages)}")
        relevant = r["relevant_skus"].split(";")
        expected = r.get("expected_top3_skus", "").split(";") if "expected_top3_skus" in r else []
        if "expected_top3_skus" in r and not 1 <= len(expected) <= 3:
            problem(f"relevance: {q!r} lists {len(expected)} expected SKUs (1 to 3)")
        for s in expected + relevant:
            if s not in skus:
                problem(f"relevance: {q!r} names {s}, not a demo SKU")
            elif s not in sellable:
                problem(f"relevance: {q!r} names {s}, which is not sellable in the demo")
        for s in expected:
            if s not in relevant:
                problem(f"relevance: {q!r} expects {s} but does not list it as relevant")

    counts = {name: len(rows) for name, rows in (
        ("products.csv", prow), ("product_lines.csv", lines), ("formats.csv", frows),
        ("cooperatives.csv", crows), ("segments.csv", srows), ("regions.csv", rrows),
        ("provinces.csv", vrows), ("zgh_sample.csv", zrows), ("market_words.csv", mrows),
        ("compliance_messages.csv", comp), ("relevance_queries.csv", qrows),
        ("relevance_broad_queries.csv", brows))}
    for name, n in counts.items():
        print(f"{name:30} {n:4} rows")
    print(f"demo: {len(coops)} cooperatives, {len(products)} products, {len(sellable)} sellable")
    if PROBLEMS:
        print(f"\n{len(PROBLEMS)} problem(s):")
        for p in PROBLEMS:
            print("  -", p)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
