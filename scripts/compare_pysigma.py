#!/usr/bin/env python3
"""Compare `sigil convert`'s text targets with pySigma's backends on Sigma rules.

Needs pySigma and its backends in the Python that runs this script:

    python3 -m venv .venv
    .venv/bin/pip install pysigma pysigma-backend-elasticsearch pysigma-backend-splunk pysigma-backend-kusto
    cargo build -p sigil
    .venv/bin/python scripts/compare_pysigma.py [--sigil target/debug/sigil] [RULE_DIR ...]

Default rule folders: ../shared/corpus/sigmahq/rules* (SigmaHQ). Three parts:

1. Conversion rates: sigil per text target (lucene, es-dsl, esql, splunk, kusto) on the rules as they are,
   pySigma per backend (Lucene, Splunk, Kusto; no processing pipeline, so no routing or field mapping), with the
   reasons of failures grouped.
2. Semantic comparison: every rule is rewritten with its logsource replaced by one no route knows, so neither
   side adds routing or renames fields; both outputs are parsed into boolean trees over normalised atoms
   (field, operator, value with escaping undone), flattened and sorted, and compared. Each disagreement is
   classified by the rule features that explain it (regex, `?` wildcard, IPv6 cidr, keywords, ...).
3. Details (per rule) go to bench/out/pysigma/compare.json; the summary to stdout (markdown).

`agree` mode (used by the Rust test `text_targets::agrees_with_pysigma`): reads JSON
`[{"rule": yaml, "target": "lucene|splunk|kusto", "ours": query}]` on stdin and writes
`[{"agree": bool, "ours": canon, "theirs": canon}]`.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

UNROUTED = {"product": "sigil_compare_unrouted"}

# ----------------------------------------------------------------------------------------------------------------
# Normalisation: a tiny parser per language into ("AND"|"OR", [children]) / ("NOT", child) / ("ATOM", text).


def canon(tree):
    kind = tree[0]
    if kind == "ATOM":
        return tree[1]
    if kind == "NOT":
        return "NOT(" + canon(tree[1]) + ")"
    parts = []
    for c in tree[1]:
        if c[0] == kind:
            parts.extend(canon(x) for x in c[1])
        else:
            parts.append(canon(c))
    parts = sorted(set(parts))
    if len(parts) == 1:
        return parts[0]
    return kind + "(" + ",".join(parts) + ")"


def flatten(tree):
    """Re-nest: AND/OR children of the same kind merged (canon does the sorting)."""
    return tree


class Parser:
    """Recursive descent over tokens with configurable operator words and precedence."""

    def __init__(self, tokens, and_word, or_word, or_binds_tighter=False, implicit_and=True):
        self.t = tokens
        self.i = 0
        self.and_word, self.or_word = and_word, or_word
        self.or_tighter = or_binds_tighter
        self.implicit_and = implicit_and

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        e = self.expr()
        if self.peek() is not None:
            raise ValueError(f"trailing tokens {self.t[self.i:self.i + 5]}")
        return e

    def expr(self):
        return self.or_level() if not self.or_tighter else self.and_level()

    def or_level(self):
        parts = [self.and_level() if not self.or_tighter else self.unary()]
        while self.peek() == self.or_word:
            self.take()
            parts.append(self.and_level() if not self.or_tighter else self.unary())
        return parts[0] if len(parts) == 1 else ("OR", parts)

    def and_level(self):
        inner = self.unary if not self.or_tighter else self.or_level
        parts = [inner()]
        while True:
            tok = self.peek()
            if tok == self.and_word:
                self.take()
                parts.append(inner())
            elif self.implicit_and and tok not in (None, ")", self.or_word):
                parts.append(inner())
            else:
                break
        return parts[0] if len(parts) == 1 else ("AND", parts)

    def unary(self):
        tok = self.peek()
        if tok in ("NOT", "not", "not("):
            self.take()
            if tok == "not(":
                e = self.expr()
                if self.take() != ")":
                    raise ValueError("missing ) after not(")
                return ("NOT", e)
            return ("NOT", self.unary())
        if tok == "(":
            self.take()
            e = self.expr()
            if self.take() != ")":
                raise ValueError("missing )")
            return e
        if tok is None:
            raise ValueError("unexpected end")
        self.take()
        return tok if isinstance(tok, tuple) else ("ATOM", tok)


def lucene_value(v):
    """Escaping undone, wildcards marked: `*`/`?` unescaped stay, escaped ones become literal."""
    if v.startswith('"') and v.endswith('"') and len(v) >= 2:
        body = re.sub(r"\\(.)", r"\1", v[1:-1])
        return "lit:" + body.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    if v.startswith("/") and v.endswith("/"):
        return "re:" + v[1:-1]
    out = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append("\\" + n if n in "*?\\" else n)
            i += 2
            continue
        out.append(c)
        i += 1
    return "lit:" + "".join(out)


def lucene_raw(q):
    toks = []
    i = 0
    n = len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(c)
            i += 1
            continue
        # a term: up to unescaped whitespace or parenthesis (quoted and /regex/ parts kept whole)
        j = i
        buf = []
        while j < n:
            c = q[j]
            if c == "\\" and j + 1 < n:
                buf.append(q[j:j + 2])
                j += 2
                continue
            if c == '"':
                k = j + 1
                while k < n and q[k] != '"':
                    k += 2 if q[k] == "\\" else 1
                buf.append(q[j:k + 1])
                j = k + 1
                continue
            if c == "/" and (not buf or buf[-1].endswith(":")):
                k = j + 1
                while k < n and q[k] != "/":
                    k += 2 if q[k] == "\\" else 1
                buf.append(q[j:k + 1])
                j = k + 1
                continue
            if c.isspace() or c in "()":
                break
            buf.append(c)
            j += 1
        term = "".join(buf)
        i = j
        if term in ("AND", "OR", "NOT"):
            toks.append(term)
        elif term.endswith(":") and i < n and q[i] == "(":
            # field:(a OR b) -> a group whose atoms get the field
            depth = 0
            k = i
            while k < n:
                if q[k] == "\\":
                    k += 2
                    continue
                if q[k] == "(":
                    depth += 1
                elif q[k] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            inner = lucene_raw(q[i + 1:k])
            field = term[:-1]
            toks.append("(")
            for t in inner:
                toks.append(t if t in ("AND", "OR", "NOT", "(", ")") else field + ":" + t)
            toks.append(")")
            i = k + 1
        else:
            toks.append(term)
    return toks


def lucene_tokens(q):
    out = []
    for t in lucene_raw(q):
        if t in ("AND", "OR", "NOT", "(", ")"):
            out.append(t)
            continue
        m = re.match(r"^((?:\\.|[^:\\])+):(.*)$", t)
        if m and not t.startswith('"'):
            field = re.sub(r"\\(.)", r"\1", m.group(1))
            val = m.group(2)
            if field == "_exists_":
                out.append(("ATOM", "exists:" + re.sub(r"\\(.)", r"\1", val)))
            else:
                out.append(("ATOM", field + "=" + lucene_value(val)))
        else:
            out.append(("ATOM", "*=" + lucene_value(t)))
    return out


def canon_lucene(q):
    return canon(Parser(lucene_tokens(q), "AND", "OR").parse())


def splunk_tokens(q):
    toks = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(c)
            i += 1
            continue
        j = i
        buf = []
        while j < n:
            c = q[j]
            if c == '"':
                k = j + 1
                while k < n and q[k] != '"':
                    k += 2 if q[k] == "\\" else 1
                buf.append(q[j:k + 1])
                j = k + 1
                continue
            if c.isspace() or c in "()":
                break
            buf.append(c)
            j += 1
        term = "".join(buf)
        i = j
        if term in ("AND", "OR", "NOT"):
            toks.append(term)
        elif term == "IN" and toks and isinstance(toks[-1], tuple):
            k = q.index(")", i)
            vals = re.findall(r'"(?:\\.|[^"\\])*"|[^,\s()]+', q[q.index("(", i) + 1:k])
            prev = toks.pop()[1]
            field = prev[2:] if prev.startswith("*=") else prev.split("=", 1)[0]
            toks.append("(")
            for x, v in enumerate(vals):
                if x:
                    toks.append("OR")
                toks.append(("ATOM", field + "=" + splunk_value(v)))
            toks.append(")")
            i = k + 1
        else:
            m = re.match(r"^([A-Za-z0-9_.]+)(=|!=|<=|>=|<|>)(.*)$", term)
            if m:
                op = m.group(2)
                toks.append(("ATOM", m.group(1) + (op if op != "=" else "=") + splunk_value(m.group(3))))
            else:
                toks.append(("ATOM", "*=" + splunk_value(term)))
    return toks


def splunk_value(v):
    if v.startswith('"') and v.endswith('"') and len(v) >= 2:
        v = re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


def canon_splunk(q):
    q = re.sub(r"^index=\S+\s*", "", q.strip())
    pipes = q.split("\n| ")
    tree = Parser(splunk_tokens(pipes[0]), "AND", "OR", or_binds_tighter=True).parse() if pipes[0].strip() else None
    extra = [("ATOM", p.strip()) for p in pipes[1:]]
    parts = ([tree] if tree else []) + extra
    return canon(parts[0] if len(parts) == 1 else ("AND", parts))


def kusto_tokens(q):
    toks = []
    i, n = 0, len(q)
    atom = []

    def flush():
        if atom:
            text = " ".join(atom)
            m = re.match(r"^(\S+) in~ \((.*)\)$", text)
            if m:
                vals = re.findall(r'"(?:\\.|[^"\\])*"', m.group(2))
                toks.append("(")
                for x, v in enumerate(vals):
                    if x:
                        toks.append("or")
                    toks.append(("ATOM", f"{m.group(1)} =~ {v}"))
                toks.append(")")
            else:
                # sigil guards null-able tests with coalesce(…, false) and reads numbers with toreal(); pySigma
                # writes the bare test: the same where the column holds the value.
                text = re.sub(r"^coalesce\((.*), false\)$", r"\1", text)
                text = re.sub(r"^toreal\(([^()]+)\)", r"\1", text)
                toks.append(("ATOM", text))
            atom.clear()

    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            k = i + 1
            while k < n and q[k] != '"':
                k += 2 if q[k] == "\\" else 1
            atom.append(q[i:k + 1])
            i = k + 1
            continue
        if q.startswith("not(", i):
            flush()
            toks.append("not(")
            i += 4
            continue
        if c == "(" and atom and re.match(r"^[a-z_0-9]+$", atom[-1]) and atom[-1] not in ("in~", "in"):
            # a function call: keep it whole
            depth, k = 0, i
            while k < n:
                if q[k] == '"':
                    k += 1
                    while k < n and q[k] != '"':
                        k += 2 if q[k] == "\\" else 1
                elif q[k] == "(":
                    depth += 1
                elif q[k] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            atom[-1] += q[i:k + 1]
            i = k + 1
            continue
        if c == "(" and atom and atom[-1] in ("in~", "in"):
            k = q.index(")", i)
            atom.append(q[i:k + 1])
            i = k + 1
            continue
        if c in "()":
            flush()
            toks.append(c)
            i += 1
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in '()"':
            j += 1
        word = q[i:j]
        i = j
        if word in ("and", "or"):
            flush()
            toks.append(word)
        else:
            atom.append(word)
    flush()
    return toks


def canon_kusto(q):
    q = q.strip()
    m = re.match(r"^\S+\n\| where (.*)$", q, re.S)
    if m:
        q = m.group(1)
    return canon(Parser(kusto_tokens(q), "and", "or", implicit_and=False).parse())


CANON = {"lucene": canon_lucene, "splunk": canon_splunk, "kusto": canon_kusto}


def backends():
    from sigma.backends.elasticsearch import LuceneBackend
    from sigma.backends.kusto import KustoBackend
    from sigma.backends.splunk import SplunkBackend

    return {"lucene": LuceneBackend, "splunk": SplunkBackend, "kusto": KustoBackend}


def pysigma_convert(backend_cls, yaml_text):
    from sigma.collection import SigmaCollection

    try:
        coll = SigmaCollection.from_yaml(yaml_text)
        out = backend_cls(collect_errors=True).convert(coll)
        errors = [str(e) for r in coll.rules for e in r.errors]
        if errors:
            return None, errors[0]
        if not out:
            return None, "no output"
        return out[0], None
    except Exception as e:  # pySigma raises many kinds; each is a result here
        return None, f"{type(e).__name__}: {e}"


def agree_mode():
    items = json.load(sys.stdin)
    bk = backends()
    result = []
    for it in items:
        theirs, err = pysigma_convert(bk[it["target"]], it["rule"])
        if theirs is None:
            result.append({"agree": False, "ours": "", "theirs": "", "error": err})
            continue
        try:
            a = CANON[it["target"]](it["ours"])
            b = CANON[it["target"]](theirs)
            result.append({"agree": a == b, "ours": a, "theirs": b, "raw_theirs": theirs})
        except Exception as e:
            result.append({"agree": False, "ours": it["ours"], "theirs": theirs, "error": f"parse: {e}"})
    json.dump(result, sys.stdout, indent=1)


# ----------------------------------------------------------------------------------------------------------------


def reason_key(text):
    text = re.sub(r"'[^']*'", "'…'", text or "")
    text = re.sub(r"%[^%]+%", "%…%", text)
    text = re.sub(r"U\+[0-9A-F]{4}", "U+…", text)
    text = re.sub(r"\(while converting rule.*", "", text)
    return text[:150]


def features(rule_text):
    f = set()
    t = rule_text
    if "|re" in t:
        f.add("re")
    if "|cidr" in t:
        f.add("cidr-v6" if re.search(r"cidr[^\n]*\n(\s+- )?[^\n]*:[0-9a-fA-F]*:", t) else "cidr")
    if "|windash" in t:
        f.add("windash")
    if "base64" in t:
        f.add("base64")
    if "|fieldref" in t:
        f.add("fieldref")
    if "|exists" in t:
        f.add("exists")
    if "null" in t:
        f.add("null")
    if re.search(r"keywords?:", t) or re.search(r"^\s+- ['\"]", t, re.M):
        f.add("keywords")
    if re.search(r"[^\\]\?", t):
        f.add("?-wildcard")
    if "|cased" in t:
        f.add("cased")
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", nargs="?", default="report", choices=["report", "agree"])
    ap.add_argument("rules", nargs="*")
    ap.add_argument("--sigil", default=os.environ.get("SIGIL_BIN", "target/debug/sigil"))
    ap.add_argument("--out", default="bench/out/pysigma")
    ap.add_argument("--limit", type=int, default=0, help="compare only the first N rule files (0 = all)")
    args = ap.parse_args()
    if args.mode == "agree":
        return agree_mode()
    dirs = args.rules or sorted(glob.glob("../shared/corpus/sigmahq/rules*"))
    files = sorted(
        p for d in dirs for p in (glob.glob(f"{d}/**/*.yml", recursive=True) if os.path.isdir(d) else [d])
    )
    if args.limit:
        files = files[: args.limit]
    os.makedirs(args.out, exist_ok=True)
    report = {"rules": len(files), "sigil": {}, "pysigma": {}, "compare": {}}

    # 1. sigil on the rules as they are.
    for target in ["lucene", "es-dsl", "esql", "splunk", "kusto"]:
        with tempfile.TemporaryDirectory() as td:
            lst = os.path.join(td, "out.json")
            subprocess.run(
                [args.sigil, "convert", "--target", target, "--format", "json", "--output", lst, "--rules", *dirs],
                check=False,
                stderr=subprocess.DEVNULL,
            )
            entries = json.load(open(lst)) if os.path.exists(lst) else []
        ok = sum(1 for e in entries if e.get("query"))
        reasons = collections.Counter(reason_key(e["unsupported"]) for e in entries if e.get("unsupported"))
        report["sigil"][target] = {"entries": len(entries), "converted": ok, "reasons": reasons.most_common()}

    # 2. pySigma per backend, and the semantic comparison on unrouted copies.
    bk = backends()
    texts = {}
    for p in files:
        try:
            docs = list(yaml.safe_load_all(open(p, encoding="utf-8")))
        except Exception:
            continue
        if len(docs) != 1 or not isinstance(docs[0], dict) or "detection" not in docs[0]:
            continue
        d = docs[0]
        d["logsource"] = dict(UNROUTED)
        texts[p] = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
    with tempfile.TemporaryDirectory() as td:
        names = {}
        for i, (p, t) in enumerate(texts.items()):
            name = os.path.join(td, f"r{i:05d}.yml")
            open(name, "w", encoding="utf-8").write(t)
            names[name] = p
        ours = {}
        for target in CANON:
            out = os.path.join(td, f"{target}.json")
            subprocess.run(
                [args.sigil, "convert", "--target", target, "--format", "json", "--output", out, "--rules", td],
                check=False,
                stderr=subprocess.DEVNULL,
            )
            for e in json.load(open(out)) if os.path.exists(out) else []:
                orig = names.get(os.path.join(td, os.path.basename(e["path"])))
                if orig:
                    ours[(target, orig)] = e
    details = []
    for target, cls in bk.items():
        ok = 0
        errors = collections.Counter()
        classes = collections.Counter()
        agree = 0
        both = 0
        for p, t in texts.items():
            theirs, err = pysigma_convert(cls, t)
            if theirs is None:
                errors[reason_key(err)] += 1
            else:
                ok += 1
            mine = ours.get((target, p), {})
            q = mine.get("query")
            row = {"target": target, "path": p, "ours": q, "theirs": theirs, "error": err,
                   "unsupported": mine.get("unsupported")}
            if q and theirs:
                both += 1
                try:
                    a, b = CANON[target](q), CANON[target](theirs)
                    row["agree"] = a == b
                except Exception as e:
                    row["agree"] = False
                    row["parse_error"] = str(e)
                if row["agree"]:
                    agree += 1
                else:
                    fs = sorted(features(t)) or ["other"]
                    classes[",".join(fs)] += 1
            details.append(row)
        report["pysigma"][target] = {"rules": len(texts), "converted": ok, "errors": errors.most_common(15)}
        report["compare"][target] = {"both": both, "agree": agree, "differ_by_features": classes.most_common(20)}
    json.dump({"report": report, "details": details}, open(os.path.join(args.out, "compare.json"), "w"), indent=1)

    print(f"# sigil vs pySigma on {len(files)} rule files\n")
    print("| target | sigil converted | entries | % |")
    print("|---|---|---|---|")
    for t, r in report["sigil"].items():
        pct = 100.0 * r["converted"] / r["entries"] if r["entries"] else 0
        print(f"| {t} | {r['converted']} | {r['entries']} | {pct:.2f} |")
    print("\n| backend | pySigma converted | detection rules | both converted | agree (normalised) |")
    print("|---|---|---|---|---|")
    for t, r in report["pysigma"].items():
        c = report["compare"][t]
        print(f"| {t} | {r['converted']} | {r['rules']} | {c['both']} | {c['agree']} |")
    for t, r in report["sigil"].items():
        print(f"\n## sigil {t}: not converted\n")
        for reason, n in r["reasons"]:
            print(f"- {n} × {reason}")
    for t, r in report["pysigma"].items():
        print(f"\n## pySigma {t}: errors\n")
        for reason, n in r["errors"]:
            print(f"- {n} × {reason}")
        print(f"\n## {t}: disagreements by rule features\n")
        for fs, n in report["compare"][t]["differ_by_features"]:
            print(f"- {n} × {fs}")


if __name__ == "__main__":
    main()
