//! The record kind of a JSON event, from its shape (which fields it has).
//!
//! | kind | recognised by |
//! |---|---|
//! | `aws.cloudtrail` | `eventSource`, `eventName` and one of `eventVersion`, `awsRegion`, `eventTime` |
//! | `okta.system` | `eventType`, `actor.id` or `actor.alternateId`, and `published` or `displayMessage` or `legacyEventType` |
//! | `gcp.audit` | `protoPayload.methodName` or `protoPayload.serviceName` |
//! | `kubernetes.audit` | `auditID` and `verb` or `requestURI`; or `verb` and `objectRef.resource` |
//! | `m365.audit` | `Workload` (or Sentinel's `OfficeWorkload`) and `Operation`, any case |
//! | `github.audit` | `action`, `actor` and one of `created_at`, `@timestamp`, `_document_id`, `org`, `repo`, `business` |
//! | `azure.riskdetection` | `riskEventType` and one of `riskLevel`, `riskState`, `detectionTimingType`, `riskDetail` |
//! | `azure.signinlogs` | `category` (or Sentinel's `Type`) naming a sign-in log |
//! | `azure.auditlogs` | `category`/`Type` `AuditLogs`, or an `activityDisplayName` (any case, also under `properties.`) |
//! | `azure.activitylogs` | an `operationName` (or `OperationNameValue`, the REST API's `operationName.value`, the SDK's `operation_name.value`) and a `resourceId` under `/subscriptions/` or an activity log `category` |
//! | `zeek.<log>` | `_path`, or `uid` with `id.orig_h` (the log from `_path`, the file name, or the fields) |
//! | `web.access` | JSON access logs: nginx / Apache JSON formats (`status` or `request`, a request key `request` / `request_uri` / `request_method`, and one of `remote_addr`, `time_local`, `time_iso8601`, `http_user_agent`, `body_bytes_sent`); Caddy (`request.method` and `request.uri`); Traefik (`RequestMethod` and `RequestPath` or `DownstreamStatus`) |
//!
//! Azure's REST API writes `{"value": …, "localizedValue": …}` objects where the exported
//! logs rules are written for have strings (`operationName`, `status`, `category`,
//! `resourceProviderName`, `subStatus`); [`aliases`] adds the plain field beside the
//! `.value` one, so rules read both shapes alike.
//!
//! JSON access-log records get the W3C fields the text access-log reader gives (`cs-method`,
//! `cs-uri`, `cs-uri-query`, `sc-status`, `cs-user-agent`, ..., see
//! [`super::access::json_fields`]), so webserver rules read them as they read Combined lines.
//!
//! Anything else has no kind and is routed as a Windows event (JSON exports of EVTX, flat
//! event JSON).

use crate::Event;

use super::RecordKind;

const EVENT_SOURCE: u32 = 1;
const EVENT_NAME: u32 = 1 << 1;
const CLOUDTRAIL_EXTRA: u32 = 1 << 2;
const EVENT_TYPE: u32 = 1 << 3;
const PUBLISHED: u32 = 1 << 4;
const ACTOR_ID: u32 = 1 << 5;
const PROTO_PAYLOAD: u32 = 1 << 6;
const AUDIT_ID: u32 = 1 << 7;
const VERB: u32 = 1 << 8;
const WORKLOAD: u32 = 1 << 9;
const OPERATION: u32 = 1 << 10;
const ACTION: u32 = 1 << 11;
const ACTOR: u32 = 1 << 12;
const GITHUB_EXTRA: u32 = 1 << 13;
const ACTIVITY_NAME: u32 = 1 << 14;
const OPERATION_NAME: u32 = 1 << 15;
const UID: u32 = 1 << 16;
const ORIG_H: u32 = 1 << 17;
const ZEEK_PATH: u32 = 1 << 18;
const REQUEST_URI: u32 = 1 << 19;
const RESOURCE_ID: u32 = 1 << 20;
const RISK_EVENT: u32 = 1 << 21;
const RISK_EXTRA: u32 = 1 << 22;
const OBJECT_REF: u32 = 1 << 23;
const WEB_REQUEST: u32 = 1 << 24;
const WEB_STATUS: u32 = 1 << 25;
const WEB_EXTRA: u32 = 1 << 26;
const CADDY_METHOD: u32 = 1 << 27;
const CADDY_URI: u32 = 1 << 28;
const TRAEFIK_METHOD: u32 = 1 << 29;
const TRAEFIK_EXTRA: u32 = 1 << 30;

/// What a file says about its records before their shape does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hint {
    /// `--input-kind` named a record kind: every record is of it.
    pub(crate) forced: Option<&'static RecordKind>,
    /// The Zeek log the file name says (`dns.log`), for Zeek JSON without `_path`.
    pub(crate) zeek_path: Option<&'static RecordKind>,
}

fn str_of<'e>(event: &'e Event, names: &[&str]) -> Option<&'e str> {
    names.iter().find_map(|n| event.get(n).and_then(|v| v.as_str()))
}

/// The kind of a JSON event.
pub(crate) fn classify(event: &Event, hint: Hint) -> Option<&'static RecordKind> {
    if hint.forced.is_some() {
        return hint.forced;
    }
    let mut seen = 0u32;
    for (name, _) in event.fields() {
        seen |= match name {
            "eventSource" => EVENT_SOURCE,
            "eventName" => EVENT_NAME,
            "eventVersion" | "awsRegion" | "eventTime" => CLOUDTRAIL_EXTRA,
            "eventType" | "eventtype" => EVENT_TYPE,
            "published" => PUBLISHED,
            "actor.id" | "actor.alternateId" | "actor.alternateid" => ACTOR_ID,
            "objectRef.resource" => OBJECT_REF,
            "protoPayload.methodName"
            | "protoPayload.serviceName"
            | "protopayload.methodName"
            | "protopayload.serviceName" => PROTO_PAYLOAD,
            "requestURI" => REQUEST_URI,
            "riskEventType" => RISK_EVENT,
            "riskLevel" | "riskState" | "detectionTimingType" | "riskDetail" => RISK_EXTRA,
            "resourceId" | "ResourceId" | "resource_id" => RESOURCE_ID,
            "auditID" => AUDIT_ID,
            "verb" => VERB,
            "Workload" | "workload" | "OfficeWorkload" => WORKLOAD,
            "Operation" | "operation" => OPERATION,
            "action" => ACTION,
            "actor" => ACTOR,
            "created_at" | "@timestamp" | "_document_id" | "org" | "repo" | "business" => GITHUB_EXTRA,
            "activityDisplayName"
            | "ActivityDisplayName"
            | "properties.activityDisplayName"
            | "category"
            | "Category"
            | "Type" => ACTIVITY_NAME,
            "operationName"
            | "OperationName"
            | "OperationNameValue"
            | "operationName.value"
            | "operation_name.value" => OPERATION_NAME,
            "uid" => UID,
            "id.orig_h" => ORIG_H,
            "_path" => ZEEK_PATH,
            "request" | "request_uri" | "request_method" => WEB_REQUEST,
            "status" => WEB_STATUS,
            "remote_addr" | "time_local" | "time_iso8601" | "http_user_agent" | "body_bytes_sent" => WEB_EXTRA,
            "request.method" => CADDY_METHOD,
            "request.uri" => CADDY_URI,
            "RequestMethod" => TRAEFIK_METHOD,
            "RequestPath" | "DownstreamStatus" => TRAEFIK_EXTRA,
            _ => 0,
        };
    }
    let has = |bits: u32| seen & bits == bits;
    let kind = |name: &str| RecordKind::by_name(name);
    if has(EVENT_SOURCE | EVENT_NAME | CLOUDTRAIL_EXTRA) {
        return kind("aws.cloudtrail");
    }
    if has(EVENT_TYPE | ACTOR_ID)
        && (has(PUBLISHED)
            || event.contains("legacyEventType")
            || event.contains("displaymessage")
            || event.contains("displayMessage"))
    {
        return kind("okta.system");
    }
    if has(PROTO_PAYLOAD) {
        return kind("gcp.audit");
    }
    if (has(AUDIT_ID) && seen & (VERB | REQUEST_URI) != 0) || has(VERB | OBJECT_REF) {
        return kind("kubernetes.audit");
    }
    if has(RISK_EVENT | RISK_EXTRA) {
        return kind("azure.riskdetection");
    }
    if has(WORKLOAD | OPERATION) {
        return kind("m365.audit");
    }
    if has(ACTION | ACTOR | GITHUB_EXTRA) {
        return kind("github.audit");
    }
    if has(ZEEK_PATH) || has(UID | ORIG_H) {
        let path = str_of(event, &["_path"]);
        return match path {
            Some(p) => super::zeek_kind(p),
            None => hint.zeek_path.or_else(|| super::zeek_kind(guess_zeek(event))),
        };
    }
    if has(WEB_REQUEST | WEB_STATUS | WEB_EXTRA) || has(CADDY_METHOD | CADDY_URI) || has(TRAEFIK_METHOD | TRAEFIK_EXTRA)
    {
        return kind("web.access");
    }
    if seen & (ACTIVITY_NAME | OPERATION_NAME) != 0 {
        let category = str_of(event, &["category", "Category", "Type"]).unwrap_or_default();
        let lower = category.to_ascii_lowercase();
        if lower.contains("signinlogs") {
            return kind("azure.signinlogs");
        }
        let resource =
            str_of(event, &["resourceId", "ResourceId", "resource_id"]).unwrap_or_default().to_ascii_lowercase();
        let aad = resource.contains("microsoft.aadiam");
        if lower == "auditlogs"
            || lower == "aadauditevents"
            || event.contains("activityDisplayName")
            || event.contains("ActivityDisplayName")
            || event.contains("properties.activityDisplayName")
            || (aad && has(OPERATION_NAME))
        {
            return kind("azure.auditlogs");
        }
        let activity_category = matches!(
            lower.as_str(),
            "administrative"
                | "security"
                | "servicehealth"
                | "alert"
                | "recommendation"
                | "policy"
                | "autoscale"
                | "resourcehealth"
        );
        if has(OPERATION_NAME) && (resource.contains("/subscriptions/") || activity_category) {
            return kind("azure.activitylogs");
        }
    }
    None
}

/// Plain fields for the `X.value` fields of Azure's REST API shape, when `X` is missing; the
/// W3C fields (and time) of a JSON web access-log record.
pub(crate) fn aliases(event: Event, kind: &RecordKind) -> Event {
    if kind.name == "web.access" {
        let (added, time) = super::access::json_fields(&event);
        let (ts, id) = (time.or(event.timestamp()), event.record_id());
        let fields: Vec<(String, crate::Value)> =
            event.fields().map(|(n, v)| (n.to_owned(), v.clone())).chain(added).collect();
        return Event::from_fields(fields).with_timestamp(ts).with_record_id(id);
    }
    if !kind.name.starts_with("azure.") {
        return event;
    }
    const OBJECTS: [&str; 5] = ["operationName", "status", "category", "resourceProviderName", "subStatus"];
    let missing: Vec<(String, crate::Value)> = OBJECTS
        .iter()
        .filter(|n| !event.contains(n))
        .filter_map(|n| Some((n.to_string(), event.get(&format!("{n}.value"))?.clone())))
        .collect();
    if missing.is_empty() {
        return event;
    }
    let (ts, id) = (event.timestamp(), event.record_id());
    let fields: Vec<(String, crate::Value)> =
        event.fields().map(|(n, v)| (n.to_owned(), v.clone())).chain(missing).collect();
    Event::from_fields(fields).with_timestamp(ts).with_record_id(id)
}

/// The Zeek log of a record without `_path`, from its fields.
fn guess_zeek(event: &Event) -> &'static str {
    let has = |n: &str| event.contains(n);
    if has("query") && (has("qtype_name") || has("rcode")) {
        "dns"
    } else if has("method") && (has("uri") || has("host")) {
        "http"
    } else if has("endpoint") && has("operation") {
        "dce_rpc"
    } else if has("request_type") && has("client") {
        "kerberos"
    } else if has("cookie") && has("security_protocol") {
        "rdp"
    } else if has("action") && has("name") && has("path") {
        "smb_files"
    } else if has("conn_state") {
        "conn"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReadOptions;

    fn kind_of(json: &str) -> Option<&'static str> {
        let event = Event::from_json_slice(json.as_bytes(), &ReadOptions::default()).unwrap();
        classify(&event, Hint::default()).map(|k| k.name)
    }

    #[test]
    fn shapes() {
        assert_eq!(
            kind_of(r#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#),
            Some("aws.cloudtrail")
        );
        assert_eq!(
            kind_of(r#"{"published":"x","eventType":"user.session.start","actor":{"id":"1"}}"#),
            Some("okta.system")
        );
        assert_eq!(kind_of(r#"{"protoPayload":{"methodName":"x"},"logName":"l"}"#), Some("gcp.audit"));
        assert_eq!(kind_of(r#"{"kind":"Event","auditID":"a","verb":"get"}"#), Some("kubernetes.audit"));
        assert_eq!(kind_of(r#"{"workload":"Exchange","operation":"Set-Mailbox"}"#), Some("m365.audit"));
        assert_eq!(kind_of(r#"{"action":"org.add_member","actor":"a","created_at":1}"#), Some("github.audit"));
        assert_eq!(kind_of(r#"{"riskEventType":"unfamiliarFeatures","riskLevel":"low"}"#), Some("azure.riskdetection"));
        assert_eq!(
            kind_of(r#"{"category":"SignInLogs","operationName":"Sign-in activity"}"#),
            Some("azure.signinlogs")
        );
        assert_eq!(kind_of(r#"{"Type":"AuditLogs","OperationName":"Add member to role"}"#), Some("azure.auditlogs"));
        assert_eq!(
            kind_of(
                r#"{"resourceId":"/SUBSCRIPTIONS/1/x","operationName":"MICROSOFT.KEYVAULT/VAULTS/DELETE","category":"Administrative"}"#
            ),
            Some("azure.activitylogs")
        );
        assert_eq!(
            kind_of(r#"{"ts":1.0,"uid":"C1","id.orig_h":"1.2.3.4","query":"a","qtype_name":"A"}"#),
            Some("zeek.dns")
        );
        assert_eq!(kind_of(r#"{"_path":"http","ts":1.0}"#), Some("zeek.http"));
        assert_eq!(kind_of(r#"{"_path":"weird","ts":1.0}"#), Some("zeek"));
        // Windows and unknown shapes have no kind.
        assert_eq!(kind_of(r#"{"Event":{"System":{"EventID":1,"Channel":"Security"}}}"#), None);
        assert_eq!(kind_of(r#"{"EventID":4688,"Channel":"Security","Category":"Process Creation"}"#), None);
        assert_eq!(kind_of(r#"{"a":1}"#), None);
    }
}
