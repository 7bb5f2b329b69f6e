//! Logs other than Windows events: record kinds, content sniffing, and the readers of the
//! native text formats (auditd, syslog with Sysmon for Linux, web access logs, Zeek TSV).
//!
//! Every event of these sources carries a [`RecordKind`] ([`crate::Event::kind`]), set by the
//! reader from the record's shape, never from one of its fields: the routing tables
//! (`data/logsources/*.toml`) select events by kind, and the hunt output shows each kind's
//! time, host, account and "channel" equivalent.

use std::borrow::Cow;

use crate::Event;

pub(crate) mod access;
pub(crate) mod auditd;
pub(crate) mod classify;
pub(crate) mod envelope;
pub(crate) mod syslog;
pub(crate) mod text;
pub(crate) mod zeek;

/// A kind of record that is not a Windows event, with the fields that give its time, host,
/// account and "channel" equivalent.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordKind {
    /// Stable name, used by the routing tables (`kinds = ["aws.cloudtrail"]`) and by
    /// `--input-kind`.
    pub name: &'static str,
    /// What it is, for people.
    pub title: &'static str,
    /// Fields whose value is shown as the event's "channel" (the first present one).
    pub channel: &'static [&'static str],
    /// Fields whose value is shown as the event's host.
    pub host: &'static [&'static str],
    /// Fields whose value is shown as the event's account.
    pub account: &'static [&'static str],
    /// Fields whose value is the event time (the first readable one).
    pub time: &'static [&'static str],
}

impl RecordKind {
    /// The kind named `name` (ASCII case-insensitive).
    pub fn by_name(name: &str) -> Option<&'static RecordKind> {
        KINDS.iter().find(|k| k.name.eq_ignore_ascii_case(name))
    }

    /// Every kind the readers produce.
    pub fn all() -> &'static [RecordKind] {
        KINDS
    }

    fn first_of<'e>(fields: &[&str], event: &'e Event) -> Option<Cow<'e, str>> {
        fields.iter().find_map(|f| {
            let v = event.get(f).or_else(|| event.fields().find(|(n, _)| n.eq_ignore_ascii_case(f)).map(|(_, v)| v))?;
            if v.is_null() {
                return None;
            }
            let text = v.as_str_lossy();
            (!text.is_empty() && text != "-").then_some(text)
        })
    }

    /// The event's "channel" equivalent; the kind's name when none of its channel fields is set.
    pub fn channel_of<'e>(&self, event: &'e Event) -> Option<Cow<'e, str>> {
        Some(Self::first_of(self.channel, event).unwrap_or(Cow::Borrowed(self.name)))
    }

    /// The event's host.
    pub fn host_of<'e>(&self, event: &'e Event) -> Option<Cow<'e, str>> {
        Self::first_of(self.host, event)
    }

    /// The event's account.
    pub fn account_of<'e>(&self, event: &'e Event) -> Option<Cow<'e, str>> {
        Self::first_of(self.account, event)
    }

    pub(crate) fn timestamp_of(&self, event: &Event) -> Option<jiff::Timestamp> {
        self.time.iter().find_map(|f| event.get(f).and_then(crate::time::timestamp_of))
    }
}

macro_rules! kind {
    ($name:literal, $title:literal, channel: [$($c:literal),*], host: [$($h:literal),*], account: [$($a:literal),*], time: [$($t:literal),*]) => {
        RecordKind {
            name: $name,
            title: $title,
            channel: &[$($c),*],
            host: &[$($h),*],
            account: &[$($a),*],
            time: &[$($t),*],
        }
    };
}

/// The record kinds. Zeek logs have one kind per log (`zeek.dns`, ...), plus `zeek` for logs
/// of other names.
static KINDS: &[RecordKind] = &[
    kind!("aws.cloudtrail", "AWS CloudTrail record", channel: ["eventSource"], host: ["sourceIPAddress"],
        account: ["userIdentity.arn", "userIdentity.principalId", "userIdentity.type"], time: ["eventTime"]),
    kind!("azure.activitylogs", "Azure activity log record", channel: ["category", "Category", "CategoryValue", "category.value"],
        host: ["callerIpAddress", "CallerIpAddress"], account: ["caller", "Caller", "identity.claims.name"],
        time: ["time", "TimeGenerated", "eventTimestamp"]),
    kind!("azure.auditlogs", "Azure AD (Entra ID) audit log record", channel: ["category", "Category"],
        host: ["callerIpAddress", "properties.initiatedBy.user.ipAddress", "InitiatedBy.user.ipAddress"],
        account: ["properties.initiatedBy.user.userPrincipalName", "InitiatedBy.user.userPrincipalName", "identity", "Identity"],
        time: ["time", "TimeGenerated", "properties.activityDateTime", "activityDateTime"]),
    kind!("azure.signinlogs", "Azure AD (Entra ID) sign-in log record", channel: ["category", "Category"],
        host: ["properties.ipAddress", "IPAddress", "callerIpAddress", "ipAddress"],
        account: ["properties.userPrincipalName", "UserPrincipalName", "userPrincipalName", "identity"],
        time: ["time", "TimeGenerated", "createdDateTime"]),
    kind!("azure.riskdetection", "Entra ID Protection risk detection", channel: ["riskEventType"],
        host: ["ipAddress"], account: ["userPrincipalName"], time: ["detectedDateTime", "activityDateTime"]),
    kind!("okta.system", "Okta system log event", channel: ["eventType"], host: ["client.ipAddress"],
        account: ["actor.alternateId", "actor.displayName"], time: ["published"]),
    kind!("gcp.audit", "Google Cloud audit log entry", channel: ["protoPayload.serviceName", "logName"],
        host: ["protoPayload.requestMetadata.callerIp"], account: ["protoPayload.authenticationInfo.principalEmail"],
        time: ["timestamp", "receiveTimestamp"]),
    kind!("m365.audit", "Microsoft 365 unified audit log record", channel: ["Workload", "OfficeWorkload"],
        host: ["ClientIP", "ClientIPAddress", "ActorIpAddress"], account: ["UserId"],
        time: ["CreationTime", "TimeGenerated"]),
    kind!("github.audit", "GitHub audit log event", channel: ["action"], host: ["actor_ip", "actor_location.country_code"],
        account: ["actor"], time: ["@timestamp", "created_at", "at_sign_timestamp"]),
    kind!("kubernetes.audit", "Kubernetes audit event", channel: ["objectRef.resource", "verb"], host: ["sourceIPs"],
        account: ["user.username"], time: ["requestReceivedTimestamp", "stageTimestamp", "timestamp"]),
    kind!("linux.auditd", "Linux audit event (the records of one serial)", channel: ["type"], host: ["node"],
        account: ["AUID", "auid", "UID", "uid"], time: []),
    kind!("linux.sysmon", "Sysmon for Linux event", channel: ["Channel"], host: ["Computer"], account: ["User"],
        time: ["UtcTime"]),
    kind!("linux.syslog", "syslog line", channel: ["program"], host: ["host"], account: [], time: []),
    kind!("web.access", "web server access log line", channel: ["s-sitename", "cs-host", "log_format"],
        host: ["c-ip"], account: ["cs-username"], time: ["date_time"]),
    kind!("proxy.access", "proxy access log line", channel: ["s-action", "log_format"], host: ["c-ip"],
        account: ["cs-username"], time: ["date_time"]),
    kind!("macos.santa", "Santa (macOS) log line", channel: ["action"], host: [], account: ["user"], time: []),
    kind!("zeek.conn", "Zeek conn.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.dns", "Zeek dns.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.http", "Zeek http.log", channel: ["_path"], host: ["id.orig_h"], account: ["username"], time: ["ts"]),
    kind!("zeek.dce_rpc", "Zeek dce_rpc.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.smb_files", "Zeek smb_files.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.smb_mapping", "Zeek smb_mapping.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.kerberos", "Zeek kerberos.log", channel: ["_path"], host: ["id.orig_h"], account: ["client"], time: ["ts"]),
    kind!("zeek.rdp", "Zeek rdp.log", channel: ["_path"], host: ["id.orig_h"], account: ["cookie"], time: ["ts"]),
    kind!("zeek.x509", "Zeek x509.log", channel: ["_path"], host: [], account: [], time: ["ts"]),
    kind!("zeek.ssl", "Zeek ssl.log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
    kind!("zeek.ntlm", "Zeek ntlm.log", channel: ["_path"], host: ["id.orig_h"], account: ["username"], time: ["ts"]),
    kind!("zeek", "Zeek log", channel: ["_path"], host: ["id.orig_h"], account: [], time: ["ts"]),
];

/// The Zeek kind of a log path (`dns`, `http`, ...); `zeek` for other logs.
pub(crate) fn zeek_kind(path: &str) -> Option<&'static RecordKind> {
    let name = format!("zeek.{path}");
    KINDS.iter().find(|k| k.name == name).or_else(|| RecordKind::by_name("zeek"))
}
