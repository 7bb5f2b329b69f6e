#!/usr/bin/env python3
"""Make large non-Windows log files for `formats_bench` from the samples in ../shared/corpus/logs.

Each output repeats the records of its source samples until it reaches --mb megabytes (auditd serials are
shifted per copy so that every event stays distinct). Standard library only; deterministic.

    python3 bench/gen_logs.py --mb 20 --out /tmp/logs
"""
import argparse
import gzip
import json
import os
import re

SAMPLES = {
    "cloudtrail.json": ["aws-cloudtrail"],
    "okta.jsonl": ["okta"],
    "auditd.log": ["linux-auditd"],
    "sysmon-linux.log": ["linux-sysmon"],
    "syslog.log": ["linux-syslog/crowdsec-hub-sshd.log", "linux-syslog/crowdsec-hub-syslog-misc.log"],
    "access.log": ["webserver-access/elastic-examples-apache_logs-lines-00001-01500.log"],
    "iis.log": ["webserver-access/plaso-iis6.log"],
    "zeek-dns.log": ["zeek/dns/opt.basic.log"],
}


def files(root, parts):
    for part in parts:
        path = os.path.join(root, part)
        if os.path.isfile(path):
            yield path
        else:
            for d, _, names in sorted(os.walk(path)):
                for n in sorted(names):
                    yield os.path.join(d, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", default=os.path.join(os.path.dirname(__file__), "../../shared/corpus/logs"))
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    target = int(args.mb * 1e6)
    for name, parts in SAMPLES.items():
        paths = list(files(args.samples, parts))
        out = os.path.join(args.out, name)
        if name == "cloudtrail.json":
            records = []
            for p in paths:
                records += json.load(open(p))["Records"]
            unit = [json.dumps(r) for r in records]
            body, size, i = [], 0, 0
            while size < target:
                line = unit[i % len(unit)]
                body.append(line)
                size += len(line) + 2
                i += 1
            text = '{"Records":[\n' + ",\n".join(body) + "\n]}\n"
            open(out, "w").write(text)
            with gzip.open(out + ".gz", "wt", compresslevel=6) as f:
                f.write(text)
            continue
        lines = []
        header = []
        for p in paths:
            for line in open(p, encoding="utf-8", errors="replace"):
                if line.startswith("#") and name in ("iis.log", "zeek-dns.log"):
                    if not lines:
                        header.append(line)
                    continue
                if name == "sysmon-linux.log" and not line.rstrip().endswith("</Event>"):
                    continue
                lines.append(line if line.endswith("\n") else line + "\n")
        with open(out, "w") as f:
            f.writelines(header)
            size, copy = 0, 0
            while size < target:
                for line in lines:
                    if name == "auditd.log":
                        line = re.sub(r":(\d+)\)", lambda m: ":%d)" % (int(m.group(1)) + copy * 10_000_000), line, count=1)
                    f.write(line)
                    size += len(line)
                copy += 1
        print(out, os.path.getsize(out))


if __name__ == "__main__":
    main()
