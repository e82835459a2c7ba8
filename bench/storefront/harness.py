#!/usr/bin/env python3
"""Queries, checks and summary of bench/storefront.sh (standard library only).

    harness.py check   --out DIR --search TERM --target NAME=KIND=URL ... --scenarios "..."
    harness.py summary --out DIR --targets "..." --scenarios "..." --connections "..."

`check` asks every target every scenario once, fails unless each answer is 200, holds no
`errors` and is a complete page, and fails unless all targets return the same rows in the
same order with the same fields (ours on SQLite and PostgreSQL, PostGraphile); it writes
the request bodies and the checked responses the load runs compare every response with.
`summary` turns the runs' reports into markdown tables and fails on any bad response.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import urllib.error
import urllib.request

# ---------------------------------------------------------------------------------------
# The scenarios: one query for our API and one for PostGraphile's, asking the same data.

# What a storefront's product grid shows (bench/catalog.sh's selection, plus the kind).
OURS_PRODUCT = """sku name format
      price { amount currencyCode }
      stock { available }
      segment { slug name }
      cooperative { name kind region { code name } }
      certifications { type number expiresOn }"""
PEER_PRODUCT = """sku name format
      priceAmount currencyCode
      stock
      segment { slug name }
      cooperative { name kind region { code name } }
      certifications(orderBy: [CERTIFICATION_ID_ASC]) { nodes { type number expiresOn } }"""

OURS_PAGE = "pageInfo { hasNextPage endCursor }\n    nodes { " + OURS_PRODUCT + " }"
PEER_PAGE = "pageInfo { hasNextPage endCursor }\n    nodes { " + PEER_PRODUCT + " }"

OURS_COOP_PRODUCT = "sku name price { amount currencyCode } stock { available }"
PEER_COOP_PRODUCT = "sku name priceAmount currencyCode stock"

QUERIES = {
    "typename": {
        "ours": "{ __typename }",
        "peer": "{ __typename }",
    },
    "list": {
        "ours": f"query Listing($after: String) {{ products(first: 20, after: $after) {{ {OURS_PAGE} }} }}",
        "peer": f"query Listing($after: Cursor) {{ products(first: 20, after: $after, orderBy: [NAME_ASC, ID_ASC]) {{ {PEER_PAGE} }} }}",
    },
    "filtered": {
        "ours": "query Filtered { products(first: 20, filter: { kind: TERROIR, region: \"MA-09\", inStock: true }, "
        f"sort: {{ field: PRICE, direction: ASC }}) {{ totalCount {OURS_PAGE} }} }}",
        "peer": "query Filtered { products(first: 20, condition: { cooperativeKind: \"TERROIR\", regionCode: \"MA-09\", inStock: true }, "
        f"orderBy: [PRICE_CENTS_ASC, ID_ASC]) {{ totalCount {PEER_PAGE} }} }}",
    },
    "search": {
        "ours": f"query Search($q: String!) {{ products(first: 20, filter: {{ search: $q }}) {{ totalCount {OURS_PAGE} }} }}",
        "peer": f"query Search($q: String!) {{ searchProducts(search: $q, first: 20, orderBy: [NAME_ASC, ID_ASC]) {{ totalCount {PEER_PAGE} }} }}",
    },
    "product": {
        "ours": f"query Product($sku: String!) {{ product(sku: $sku) {{ {OURS_PRODUCT} }} }}",
        "peer": f"query Product($sku: String!) {{ productBySku(sku: $sku) {{ {PEER_PRODUCT} }} }}",
    },
    "cooperatives": {
        "ours": "query Cooperatives { cooperatives(first: 20) { pageInfo { hasNextPage endCursor } "
        "nodes { slug name kind region { code name } "
        f"products(first: 5) {{ nodes {{ {OURS_COOP_PRODUCT} }} }} }} }} }}",
        "peer": "query Cooperatives { cooperatives(first: 20, orderBy: [NAME_ASC, ID_ASC]) { pageInfo { hasNextPage endCursor } "
        "nodes { slug name kind region { code name } "
        f"products(first: 5, orderBy: [NAME_ASC, ID_ASC]) {{ nodes {{ {PEER_COOP_PRODUCT} }} }} }} }} }}",
    },
}
QUERIES["page2"] = QUERIES["list"]

LABELS = {
    "health": "`GET /health` (baseline)",
    "typename": "`{ __typename }` (GraphQL baseline)",
    "list": "listing, 20 products",
    "page2": "listing, page 2 (`after:`)",
    "filtered": "filtered: kind, region, inStock, by price, totalCount",
    "search": "search, 20 products, totalCount",
    "product": "`product(sku:)`",
    "cooperatives": "20 cooperatives × 5 products",
}
ORDER = list(LABELS)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------
# Normalization: both APIs' answers reduced to the same plain data.


def product_ours(n):
    return {
        "sku": n["sku"],
        "name": n["name"],
        "format": n["format"],
        "price": [n["price"]["amount"], n["price"]["currencyCode"]],
        "stock": n["stock"]["available"],
        "segment": [n["segment"]["slug"], n["segment"]["name"]],
        "cooperative": [
            n["cooperative"]["name"],
            n["cooperative"]["kind"],
            n["cooperative"]["region"]["code"],
            n["cooperative"]["region"]["name"],
        ],
        "certifications": [[c["type"], c["number"], c["expiresOn"]] for c in n["certifications"]],
    }


def product_peer(n):
    return {
        "sku": n["sku"],
        "name": n["name"],
        "format": n["format"],
        "price": [n["priceAmount"], n["currencyCode"]],
        "stock": n["stock"],
        "segment": [n["segment"]["slug"], n["segment"]["name"]],
        "cooperative": [
            n["cooperative"]["name"],
            n["cooperative"]["kind"],
            n["cooperative"]["region"]["code"],
            n["cooperative"]["region"]["name"],
        ],
        "certifications": [
            [c["type"], c["number"], c["expiresOn"]] for c in n["certifications"]["nodes"]
        ],
    }


def page(connection, product):
    out = {
        "hasNextPage": connection["pageInfo"]["hasNextPage"],
        "nodes": [product(n) for n in connection["nodes"]],
    }
    if "totalCount" in connection:
        out["totalCount"] = connection["totalCount"]
    return out


def coop_product_ours(n):
    return {"sku": n["sku"], "name": n["name"], "price": [n["price"]["amount"], n["price"]["currencyCode"]],
            "stock": n["stock"]["available"]}


def coop_product_peer(n):
    return {"sku": n["sku"], "name": n["name"], "price": [n["priceAmount"], n["currencyCode"]], "stock": n["stock"]}


def cooperatives(connection, product):
    return {
        "hasNextPage": connection["pageInfo"]["hasNextPage"],
        "nodes": [
            {
                "slug": c["slug"],
                "name": c["name"],
                "kind": c["kind"],
                "region": [c["region"]["code"], c["region"]["name"]],
                "products": [product(p) for p in c["products"]["nodes"]],
            }
            for c in connection["nodes"]
        ],
    }


def normalize(scenario, kind, data):
    """The answer's data as plain values, whichever API gave it."""
    ours = kind == "ours"
    product = product_ours if ours else product_peer
    if scenario == "typename":
        return {"typename": bool(data["__typename"])}
    if scenario in ("list", "page2", "filtered"):
        return page(data["products"], product)
    if scenario == "search":
        return page(data["products"] if ours else data["searchProducts"], product)
    if scenario == "product":
        node = data["product"] if ours else data["productBySku"]
        return None if node is None else product(node)
    if scenario == "cooperatives":
        return cooperatives(data["cooperatives"], coop_product_ours if ours else coop_product_peer)
    raise ValueError(scenario)


def check_complete(scenario, norm):
    """Fails unless the normalized answer is a full page of the catalog."""
    if scenario in ("list", "page2", "filtered", "search"):
        nodes = norm["nodes"]
        if len(nodes) != 20:
            return f"{len(nodes)} products instead of 20"
        for n in nodes:
            if not (n["cooperative"][2].startswith("MA-") and n["segment"][0] and n["price"][1] == "MAD"):
                return f"incomplete product {n}"
        if scenario == "filtered" and any(
            n["cooperative"][1] != "TERROIR" or n["cooperative"][2] != "MA-09" or n["stock"] <= 0 for n in nodes
        ):
            return "a product outside the filter"
        if scenario == "filtered" and [float(n["price"][0]) for n in nodes] != sorted(float(n["price"][0]) for n in nodes):
            return "not sorted by price"
        if scenario in ("list", "filtered") and not any(n["certifications"] for n in nodes):
            return "no product of the page has a certification"
    elif scenario == "product":
        if norm is None or not norm["certifications"]:
            return "no product, or a product without certifications"
    elif scenario == "cooperatives":
        if len(norm["nodes"]) != 20 or not any(c["products"] for c in norm["nodes"]):
            return "not 20 cooperatives with products"
    return None


def first_difference(a, b, path="data"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a, ensure_ascii=False)[:200]} vs {json.dumps(b, ensure_ascii=False)[:200]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: present on one side only"
            d = first_difference(a[key], b[key], f"{path}.{key}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        return None
    return None if a == b else f"{path}: {json.dumps(a, ensure_ascii=False)} vs {json.dumps(b, ensure_ascii=False)}"


# ---------------------------------------------------------------------------------------
# check


def post(url, body):
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def command_check(args):
    targets = []
    for spec in args.target:
        name, kind, url = spec.split("=", 2)
        targets.append((name, kind, url.rstrip("/")))
    scenarios = args.scenarios.split()
    for d in ("requests", "expected", "answers"):
        os.makedirs(os.path.join(args.out, d), exist_ok=True)

    def ask(name, kind, base, scenario, variables):
        body = json.dumps({"query": QUERIES[scenario][kind], "variables": variables}).encode()
        status, raw = post(base + "/graphql", body)
        where = f"{name} {scenario}"
        if status != 200:
            fail(f"{where}: HTTP {status}: {raw[:600].decode(errors='replace')}")
        try:
            answer = json.loads(raw)
        except ValueError:
            fail(f"{where}: not JSON: {raw[:600].decode(errors='replace')}")
        if answer.get("errors") or "data" not in answer:
            fail(f"{where}: GraphQL errors: {json.dumps(answer.get('errors'), ensure_ascii=False)[:800]}")
        with open(os.path.join(args.out, "answers", f"{name}__{scenario}.json"), "wb") as f:
            f.write(raw)
        return body, raw, answer["data"]

    def keep(name, scenario, body, raw):
        with open(os.path.join(args.out, "requests", f"{name}__{scenario}.json"), "wb") as f:
            f.write(body)
        with open(os.path.join(args.out, "expected", f"{name}__{scenario}.body"), "wb") as f:
            f.write(raw)

    # The product of `product(sku:)`: the first certified product of the listing, as our
    # API on the first target lists it.
    sku = None
    reference = {}  # scenario (or (search, kind)) -> (target name, normalized answer)
    search_totals = {}  # target name -> totalCount of the search page
    ordered = [s for s in ORDER if s in scenarios]
    if "product" in scenarios and "list" not in ordered:
        ordered.insert(0, "list")
    for scenario in ordered:
        for name, kind, base in targets:
            if scenario == "health":
                if kind != "ours":
                    continue
                status, raw = get(base + "/health")
                if status != 200:
                    fail(f"{name} health: HTTP {status}: {raw[:300].decode(errors='replace')}")
                keep(name, scenario, b"", raw)
                continue
            variables = {}
            if scenario == "search":
                variables = {"q": args.search}
            elif scenario == "product":
                variables = {"sku": sku}
            elif scenario == "page2":
                _, _, first = ask(name, kind, base, "list", {})
                variables = {"after": first["products"]["pageInfo"]["endCursor"]}
            body, raw, data = ask(name, kind, base, scenario, variables)
            norm = normalize(scenario, kind, data)
            problem = check_complete(scenario, norm)
            if problem:
                fail(f"{name} {scenario}: {problem}")
            if scenario == "list" and sku is None:
                sku = next(n["sku"] for n in norm["nodes"] if n["certifications"])
            # Search has two meanings: ours is #15's word index (stems, accents, both
            # languages, one typo), the peer's a substring match of the stored text. Our
            # targets must agree with each other row for row; the peer's page is only
            # checked to be a complete page, and both totals are reported.
            ref_key = (scenario, kind) if scenario == "search" else scenario
            if scenario == "search":
                search_totals[name] = norm.get("totalCount")
            if ref_key not in reference:
                reference[ref_key] = (name, norm)
                if scenario not in reference:
                    reference[scenario] = (name, norm)
            else:
                ref_name, ref = reference[ref_key]
                diff = first_difference(ref, norm)
                if diff:
                    fail(
                        f"{scenario}: {name} does not return what {ref_name} returns (first difference at {diff}); "
                        f"answers kept in {os.path.join(args.out, 'answers')}"
                    )
            if scenario in scenarios:
                keep(name, scenario, body, raw)
        if scenario not in scenarios:
            continue
        if scenario == "health":
            print("  health: 200 from our servers", file=sys.stderr)
        elif scenario == "typename":
            print("  typename: answered by every target", file=sys.stderr)
        else:
            norm = reference[scenario][1]
            if scenario == "product":
                what = f"{norm['sku']} with {len(norm['certifications'])} certifications"
            elif scenario == "cooperatives":
                what = (f"{len(norm['nodes'])} cooperatives, {sum(len(c['products']) for c in norm['nodes'])} products, "
                        f"first {norm['nodes'][0]['slug']}")
            else:
                total = f", {norm['totalCount']} in all" if "totalCount" in norm else ""
                certified = sum(1 for n in norm["nodes"] if n["certifications"])
                what = f"{len(norm['nodes'])} products ({certified} certified){total}, SKUs {norm['nodes'][0]['sku']} … {norm['nodes'][-1]['sku']}"
            if scenario == "search":
                ours_names = ", ".join(t[0] for t in targets if t[1] == "ours")
                totals = ", ".join(f"{n} {t}" for n, t in search_totals.items())
                print(f"  search: same rows, order and fields from {ours_names}: {what}; "
                      f"full pages everywhere, matches in all: {totals} (the peer matches substrings, "
                      f"ours words: not the same rows)", file=sys.stderr)
                continue
            names = ", ".join(t[0] for t in targets if scenario != "health" or t[1] == "ours")
            print(f"  {scenario}: same rows, order and fields from {names}: {what}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# summary


def fmt_rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def command_summary(args):
    targets = args.targets.split()
    labels = dict(spec.split("=", 1) for spec in args.label)
    runs = {}  # (target, scenario, conns) -> [run dicts]
    bad = []
    for path in sorted(glob.glob(os.path.join(args.out, "runs", "*.wrk.json"))):
        name = os.path.basename(path)[: -len(".wrk.json")]
        target, scenario, conns, rnd = name.split("__")
        with open(path) as f:
            wrk = json.load(f)
        with open(os.path.join(args.out, "runs", f"{name}.meta.json")) as f:
            meta = json.load(f)
        errors = {k: v for k, v in wrk["errors"].items() if v}
        if wrk["bad"] or errors or not wrk["requests"]:
            sample = ""
            if os.path.exists(path + ".bad"):
                with open(path + ".bad", errors="replace") as f:
                    sample = " — first bad response: " + f.read(600).replace("\n", " ")
            bad.append(f"{name}: {wrk['requests']} requests, {wrk['bad']} bad responses, transport/status errors {errors}{sample}")
        seconds = wrk["duration_us"] / 1e6
        tick_ms = 1000.0 / meta["clk_tck"]
        n = max(wrk["requests"], 1)
        busy = meta["machine_busy_ticks"] * tick_ms
        own = (meta["server_ticks"] + meta["pg_ticks"]) * tick_ms + meta["wrk_cpu_ms"]
        capacity = meta["machine_total_ticks"] * tick_ms
        runs.setdefault((target, scenario, int(conns[1:])), []).append({
            "round": int(rnd[1:]),
            "rps": wrk["requests"] / seconds,
            "p50": wrk["latency_us"]["p50"] / 1000,
            "p99": wrk["latency_us"]["p99"] / 1000,
            "server_ms": meta["server_ticks"] * tick_ms / n,
            "pg_ms": meta["pg_ticks"] * tick_ms / n,
            "wrk_ms": meta["wrk_cpu_ms"] / n,
            "others": max(0.0, busy - own) / capacity if capacity else 0.0,
            "load": [meta["load_before"], meta["load_after"]],
            "compilers": max(meta["compilers_before"], meta["compilers_after"]),
            "requests": wrk["requests"],
            "reordered": wrk.get("reordered", 0),
        })
    if not runs:
        fail(f"no runs in {args.out}/runs")
    scenarios = [s for s in ORDER if s in args.scenarios.split()]
    conn_list = [int(c) for c in args.connections.split()]
    peer = "postgraphile" if "postgraphile" in targets else None
    ours = [t for t in targets if t != "postgraphile"]
    med = statistics.median

    def cell(key, target, scenario, conns, f=fmt_rate):
        rs = runs.get((target, scenario, conns))
        if not rs:
            return "—"
        values = [r[key] for r in rs]
        text = f(med(values))
        if key == "rps" and len(values) > 1:
            text += f" ({fmt_rate(min(values))}–{fmt_rate(max(values))})"
        return text

    def ratio(target, scenario, conns):
        a, b = runs.get((target, scenario, conns)), runs.get((peer, scenario, conns))
        if not a or not b:
            return "—"
        text = f"**{med(r['rps'] for r in a) / med(r['rps'] for r in b):.2f}×**"
        by_round = {r["round"]: r["rps"] for r in b}
        paired = [r["rps"] / by_round[r["round"]] for r in a if r["round"] in by_round]
        if len(paired) > 1:
            text += f" ({min(paired):.2f}–{max(paired):.2f})"
        return text

    def name(target):
        return labels.get(target, target)

    out = []
    out.append("Requests per second: median of the rounds (lowest–highest); ratio = median of ours ÷ median of "
               "PostGraphile, in brackets the lowest and highest ratio of one round's back-to-back runs.")
    out.append("")
    head = ["request", "conn."] + [name(t) for t in targets]
    if peer:
        head += [f"{name(t)} ÷ {name(peer)}" for t in ours]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|---:|" + "---:|" * (len(head) - 2))
    for scenario in scenarios:
        for conns in conn_list:
            row = [LABELS[scenario], str(conns)] + [cell("rps", t, scenario, conns) for t in targets]
            if peer:
                row += [ratio(t, scenario, conns) for t in ours]
            out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("Latency, median of the rounds' p50 / p99 (ms):")
    out.append("")
    head = ["request", "conn."] + [name(t) for t in targets]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|---:|" + "---:|" * (len(head) - 2))
    for scenario in scenarios:
        for conns in conn_list:
            row = [LABELS[scenario], str(conns)]
            for t in targets:
                rs = runs.get((t, scenario, conns))
                row.append("—" if not rs else f"{med(r['p50'] for r in rs):.2f} / {med(r['p99'] for r in rs):.2f}")
            out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("CPU time per request, ms (medians of the rounds; from /proc: the server's process with its threads and "
               "workers, the PostgreSQL backends of the benchmark database, the load generator), and the share of the "
               "machine's CPU that other processes used meanwhile:")
    out.append("")
    out.append("| request | conn. | target | server | PostgreSQL | server + PostgreSQL | wrk | other processes |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|")
    for scenario in scenarios:
        for conns in conn_list:
            for t in targets:
                rs = runs.get((t, scenario, conns))
                if not rs:
                    continue
                server = med(r["server_ms"] for r in rs)
                both = med(r["server_ms"] + r["pg_ms"] for r in rs)
                pg = "—" if t.startswith("sqlite") else f"{med(r['pg_ms'] for r in rs):.3f}"
                out.append(f"| {LABELS[scenario]} | {conns} | {name(t)} | {server:.3f} | {pg} | {both:.3f} | "
                           f"{med(r['wrk_ms'] for r in rs):.3f} | {med(r['others'] for r in rs):.0%} |")
    all_runs = [r for rs in runs.values() for r in rs]
    loads = [float(x) for r in all_runs for x in r["load"]]
    disturbed = sum(1 for r in all_runs if r["compilers"])
    out.append("")
    out.append(f"{len(all_runs)} runs; 1-minute load average {min(loads):.2f}–{max(loads):.2f} (median {med(loads):.2f}) "
               f"on {os.cpu_count()} cores; {disturbed} runs overlapped a compiler (cargo/rustc) on the machine.")
    for t in targets:
        rs = [r for (target, _, _), v in runs.items() if target == t for r in v]
        reordered = sum(r["reordered"] for r in rs)
        if reordered:
            out.append(f"{name(t)}: {reordered:,} of {sum(r['requests'] for r in rs):,} responses held the checked "
                       "answer's bytes in another order (JSON members serialized in another order); all others "
                       "were byte for byte the checked answer.")
    print("\n".join(out))
    if bad:
        print("\nFAILED runs (bad responses or transport errors):\n" + "\n".join(bad), file=sys.stderr)
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check")
    check.add_argument("--out", required=True)
    check.add_argument("--search", required=True)
    check.add_argument("--scenarios", required=True)
    check.add_argument("--target", action="append", required=True, help="NAME=ours|peer=BASE-URL")
    summary = sub.add_parser("summary")
    summary.add_argument("--out", required=True)
    summary.add_argument("--targets", required=True)
    summary.add_argument("--scenarios", required=True)
    summary.add_argument("--connections", required=True)
    summary.add_argument("--label", action="append", default=[], help="TARGET=label")
    args = parser.parse_args()
    {"check": command_check, "summary": command_summary}[args.command](args)


if __name__ == "__main__":
    main()
