#!/usr/bin/env python3
"""Generate data/windows/events/<provider>.tsv: Windows event schemas (ids, titles, field names and types).

Usage:
    python3 scripts/gen_events.py [SHARED_WINDOWS_DIR] [OUT_DIR]

SHARED_WINDOWS_DIR defaults to ../shared/corpus/windows (relative to the repository root) and must hold
sysmon-schema-4.91.xml and ossem-dd/windows/. Only facts are written: provider, channel, event id, title,
field names and field types. OSSEM descriptions and sample values are never copied.
Python 3 standard library only.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# Providers whose events Sigma services or categories select, with the channel their events are written to.
# "" = several channels (or ETW only): the channel is unknown per event unless EVENT_CHANNEL says otherwise.
# Channel names: Sigma taxonomy appendix (Windows folder) and pySigma's windows_logsource_mapping.
OSSEM_PROVIDERS = {
    "Microsoft-Windows-Security-Auditing": "Security",
    "Microsoft-Windows-Eventlog": "",
    "Microsoft-Windows-PowerShell": "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-TaskScheduler": "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-WMI-Activity": "Microsoft-Windows-WMI-Activity/Operational",
    "Microsoft-Windows-DNS-Client": "Microsoft-Windows-DNS Client Events/Operational",
    "Microsoft-Windows-DriverFrameworks-UserMode": "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
    "Microsoft-Windows-NTLM": "Microsoft-Windows-NTLM/Operational",
    "Microsoft-Windows-AppLocker": "",
    "Microsoft-Windows-PrintService": "",
    "Microsoft-Windows-CodeIntegrity": "Microsoft-Windows-CodeIntegrity/Operational",
    "Microsoft-Windows-SMBClient": "",
    "Microsoft-Windows-SMBServer": "",
    "Microsoft-Windows-Bits-Client": "Microsoft-Windows-Bits-Client/Operational",
    "Microsoft-Windows-Security-Mitigations": "",
    "Microsoft-Windows-Diagnosis-Scripted": "Microsoft-Windows-Diagnosis-Scripted/Operational",
    "Microsoft-Windows-Shell-Core": "Microsoft-Windows-Shell-Core/Operational",
    "Microsoft-Windows-AppXDeployment-Server": "Microsoft-Windows-AppXDeploymentServer/Operational",
    "Microsoft-Windows-AppModel-Runtime": "Microsoft-Windows-AppModel-Runtime/Admin",
    "Microsoft-Windows-CertificateServicesClient-Lifecycle-System":
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    "Microsoft-Windows-TerminalServices-LocalSessionManager":
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    "LsaSrv": "Microsoft-Windows-LSA/Operational",
    "Microsoft-Windows-Kernel-General": "System",
    "Microsoft-Windows-Kernel-File": "",
}

# Events of multi-channel providers whose channel is known.
EVENT_CHANNEL = {
    ("Microsoft-Windows-Eventlog", 104): "System",
    ("Microsoft-Windows-Eventlog", 105): "System",
    **{("Microsoft-Windows-Eventlog", i): "Security" for i in (1100, 1101, 1102, 1104, 1105, 1108)},
}

# Hand-maintained tables for events no source in shared/corpus/windows describes (see README.md), same row format.
# A file whose provider is generated from OSSEM adds events to it (an id OSSEM has is an error); any other file
# becomes a provider table of its own, with its `#@` header lines.
MANUAL_DIR = "manual"

SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
CLASSIC_PS_PROVIDER = "PowerShell"
CLASSIC_PS_CHANNEL = "Windows PowerShell"

# Classic PowerShell events carry their payload as unnamed <Data> elements, which Sigma rules address as `Data`;
# OSSEM lists the key=value pairs inside them. Event 800 (ps_classic_script) is missing from OSSEM: its
# context keys are listed here.
CLASSIC_PS_EXTRA = {
    800: (
        "Pipeline Execution Details",
        ["DetailSequence", "DetailTotal", "SequenceNumber", "UserId", "HostName", "HostVersion", "HostId",
         "HostApplication", "EngineVersion", "RunspaceId", "PipelineId", "ScriptName", "CommandLine"],
    ),
}

# Titles for routed events whose OSSEM entry has only a placeholder or an ETW task symbol
# (Event Viewer task category or Microsoft's event documentation title).
TITLE_OVERRIDES = {
    ("Microsoft-Windows-Security-Auditing", 4657): "A registry value was modified.",
    ("Microsoft-Windows-PowerShell", 4103): "Executing Pipeline",
    ("Microsoft-Windows-PowerShell", 4104): "Execute a Remote Command",
}

GENERIC_TASK = re.compile(r"^(task_\d+|None|)$")
FIELD_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def display_name(provider):
    return provider[len("Microsoft-Windows-"):] if provider.startswith("Microsoft-Windows-") else provider


def file_slug(provider):
    # The classic "PowerShell" provider would collide with Microsoft-Windows-PowerShell.
    if provider == CLASSIC_PS_PROVIDER:
        return "powershell-classic"
    return display_name(provider).lower().replace(" ", "-")


def unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_ossem(path):
    """Read the few keys we need from an OSSEM event file (a regular YAML layout) without a YAML library."""
    top = {}
    fields = []
    in_fields = False
    item_indent = None
    current = None
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^([A-Za-z_]+):\s*(.*)$", line)
            if m:  # top-level key
                in_fields = m.group(1) == "event_fields"
                top[m.group(1)] = unquote(m.group(2))
                continue
            if not in_fields:
                continue
            m = re.match(r"^(\s*)- ([A-Za-z_]+):\s*(.*)$", line)
            if m:  # new list item
                item_indent = len(m.group(1)) + 2
                current = {}
                fields.append(current)
                current[m.group(2)] = unquote(m.group(3))
                continue
            m = re.match(r"^(\s*)([A-Za-z_]+):\s*(.*)$", line)
            if m and current is not None and len(m.group(1)) == item_indent:
                current[m.group(2)] = unquote(m.group(3))
    return top, [(f.get("name", ""), f.get("type", "")) for f in fields]


def title_from(name):
    m = re.match(r"^Event ID \d+\s*[:-]\s*(.*)$", name)
    if m:
        return m.group(1).strip()
    m = re.match(r"^Event \d+ - (.*)$", name)
    if m:
        task = m.group(1).strip()
        return "" if GENERIC_TASK.match(task) else task
    return ""


def clean_type(t):
    t = (t or "").strip()
    t = t[4:] if t.startswith("win:") else t
    return "" if t in ("TBD",) else t


def merge_versions(versions):
    """versions: list of (version, title, fields). Highest version first wins; fields are the union."""
    versions.sort(key=lambda v: -v[0])
    title = next((t for _, t, _ in versions if t), "")
    seen = {}
    for _, _, fields in versions:
        for name, typ in fields:
            if name not in seen:
                seen[name] = typ
            elif not seen[name] and typ:
                seen[name] = typ
    return title, list(seen.items())


def load_ossem_dir(events_dir, expect_provider):
    by_id = {}
    for fn in sorted(os.listdir(events_dir)):
        if not fn.startswith("event-") or not fn.endswith(".yml"):
            continue
        top, fields = parse_ossem(os.path.join(events_dir, fn))
        if expect_provider and top.get("log_source") != expect_provider:
            raise SystemExit(f"{fn}: log_source {top.get('log_source')!r} != {expect_provider!r}")
        eid = int(top["event_id"])
        version = float(top.get("event_version") or 0)
        fields = [(n.strip(), clean_type(t)) for n, t in fields if n.strip()]
        for n, _ in fields:
            if not FIELD_NAME.match(n):
                raise SystemExit(f"{fn}: odd field name {n!r}")
        by_id.setdefault(eid, []).append((version, title_from(top.get("name", "")), fields))
    return {eid: merge_versions(v) for eid, v in by_id.items()}


def sysmon_events(xml_path, ossem_dir):
    titles = {eid: t for eid, (t, _) in load_ossem_dir(ossem_dir, SYSMON_PROVIDER).items()}
    root = ET.parse(xml_path).getroot()
    events = {}
    for ev in root.iter("event"):
        eid = int(ev.get("value"))
        fields = [(d.get("name"), clean_type(d.get("inType"))) for d in ev.iter("data")]
        # OSSEM's titles follow the Sysmon documentation ("Process creation"); the manifest template is the fallback.
        events[eid] = (titles.get(eid) or ev.get("template", ""), fields)
    return events


def load_manual(path):
    """A hand-maintained table: ({meta key: value}, {event id: (title, [(name, type)])})."""
    meta, events = {}, {}
    with open(path, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if line.startswith("#@ "):
                key, _, value = line[3:].partition("\t")
                meta[key.strip()] = value
                continue
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 4 or cols[1]:
                raise SystemExit(f"{path}:{n}: expected event_id, empty channel, title, fields")
            eid = int(cols[0])
            if eid in events:
                raise SystemExit(f"{path}:{n}: event {eid} listed twice")
            fields = []
            for spec in filter(None, cols[3].split(",")):
                name, _, typ = spec.partition(":")
                if not name.strip() or name != name.strip():
                    raise SystemExit(f"{path}:{n}: bad field {spec!r}")
                fields.append((name, typ))
            events[eid] = (cols[2], fields)
    if not meta.get("provider"):
        raise SystemExit(f"{path}: missing `#@ provider` line")
    return meta, events


def write_provider(out_dir, provider, channel, source, events, generated=True):
    rows = []
    for eid in sorted(events):
        title, fields = events[eid]
        title = TITLE_OVERRIDES.get((provider, eid), title)
        if "\t" in title or "\n" in title:
            raise SystemExit(f"{provider} {eid}: bad title")
        ev_channel = EVENT_CHANNEL.get((provider, eid), "")
        if ev_channel == channel:
            ev_channel = ""
        cols = ",".join(f"{n}:{t}" if t else n for n, t in fields)
        rows.append(f"{eid}\t{ev_channel}\t{title}\t{cols}")
    header = [
        f"#@ provider\t{provider}",
        f"#@ display\t{display_name(provider)}",
        f"#@ channel\t{channel}",
        f"#@ source\t{source}",
        "# generated by scripts/gen_events.py; do not edit" if generated else
        f"# copied by scripts/gen_events.py from {MANUAL_DIR}/{file_slug(provider)}.tsv; edit that file",
        "# event_id\tchannel (empty = provider channel)\ttitle\tfields (name:type, comma-separated)",
    ]
    path = os.path.join(out_dir, file_slug(provider) + ".tsv")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(header + rows) + "\n")
    return len(rows)


def main(argv):
    shared = argv[1] if len(argv) > 1 else os.path.join(REPO, "..", "shared", "corpus", "windows")
    out_dir = argv[2] if len(argv) > 2 else os.path.join(REPO, "data", "windows", "events")
    ossem = os.path.join(shared, "ossem-dd", "windows")
    os.makedirs(out_dir, exist_ok=True)
    for fn in os.listdir(out_dir):
        if fn.endswith(".tsv"):
            os.remove(os.path.join(out_dir, fn))
    counts = {}

    counts[SYSMON_PROVIDER] = write_provider(
        out_dir, SYSMON_PROVIDER, SYSMON_CHANNEL,
        "sysmon-schema-4.91.xml (schema 4.91, binary 18) for fields; OSSEM-DD sysmon titles",
        sysmon_events(os.path.join(shared, "sysmon-schema-4.91.xml"), os.path.join(ossem, "sysmon", "events")),
    )

    classic = load_ossem_dir(os.path.join(ossem, "powershell", "events"), CLASSIC_PS_PROVIDER)
    for eid in list(classic):
        title, fields = classic[eid]
        classic[eid] = (title, [("Data", "string")] + fields)
    for eid, (title, names) in CLASSIC_PS_EXTRA.items():
        classic.setdefault(eid, (title, [("Data", "string")] + [(n, "string") for n in names]))
    counts[CLASSIC_PS_PROVIDER] = write_provider(
        out_dir, CLASSIC_PS_PROVIDER, CLASSIC_PS_CHANNEL,
        "OSSEM-DD windows/powershell (+ Data, event 800 from scripts/gen_events.py)", classic)

    manual_dir = os.path.join(out_dir, MANUAL_DIR)
    manual = {}
    for fn in sorted(os.listdir(manual_dir)) if os.path.isdir(manual_dir) else []:
        if fn.endswith(".tsv"):
            meta, events = load_manual(os.path.join(manual_dir, fn))
            if file_slug(meta["provider"]) + ".tsv" != fn:
                raise SystemExit(f"{MANUAL_DIR}/{fn}: file name does not match provider {meta['provider']!r}")
            manual[meta["provider"]] = (meta, events)

    for provider, channel in OSSEM_PROVIDERS.items():
        events = load_ossem_dir(os.path.join(ossem, "etw-providers", provider, "events"), provider)
        if provider == "Microsoft-Windows-Security-Auditing":
            # Security event titles are sentences ending in a period, as in Microsoft's event documentation.
            events = {eid: ((t + ".") if t and t[-1] not in ".!?" else t, f) for eid, (t, f) in events.items()}
        source = f"OSSEM-DD windows/etw-providers/{provider}"
        if provider in manual:
            _, extra = manual.pop(provider)
            clash = sorted(set(extra) & set(events))
            if clash:
                raise SystemExit(f"{MANUAL_DIR}/{file_slug(provider)}.tsv: events {clash} are in OSSEM-DD")
            events.update(extra)
            source += f" (+ events {', '.join(map(str, sorted(extra)))} from {MANUAL_DIR}/{file_slug(provider)}.tsv)"
        counts[provider] = write_provider(out_dir, provider, channel, source, events)

    for provider, (meta, events) in manual.items():
        if provider in counts:
            raise SystemExit(f"{MANUAL_DIR}: provider {provider!r} is generated from another source")
        if meta.get("display", display_name(provider)) != display_name(provider):
            raise SystemExit(f"{MANUAL_DIR}: display name of {provider!r} must be {display_name(provider)!r}")
        counts[provider] = write_provider(
            out_dir, provider, meta.get("channel", ""), meta.get("source") or f"hand-maintained: {MANUAL_DIR}",
            events, generated=False)

    for provider, n in counts.items():
        print(f"{n:5d}  {provider}")
    print(f"{sum(counts.values()):5d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
