//! Golden JSON of the agent ↔ hub messages.

use super::*;

fn golden_batch_json() -> serde_json::Value {
    serde_json::json!({
        "nodeName": "pi-kitchen",
        "resumeFrom": 41,
        "droppedTotal": 2,
        "reports": [{
            "seq": 42,
            "sampledAt": "2026-11-25T10:00:00Z",
            "sample": {
                "hostname": "pi-kitchen",
                "architecture": "arm64",
                "os": "Debian GNU/Linux 12",
                "kernel": "6.6.51",
                "bootTime": 1764000000u64,
                "cpu": {"logicalCpus": 4, "usagePercent": 12.5, "load": [0.5, 0.25, 0.125]},
                "memory": {"totalBytes": 8_000_000_000u64, "availableBytes": 6_000_000_000u64},
                "storage": {"capacityBytes": 64_000_000_000u64, "availableBytes": 30_000_000_000u64},
                "gpus": [{"vendor": "nvidia", "model": "Orin", "cores": 1024, "memoryBytes": 0}],
                "offered": {"cpuMillis": 3500, "memoryBytes": 7_000_000_000u64, "storageBytes": 20_000_000_000u64, "pods": 110},
                "labels": {"room": "kitchen"},
                "location": {"city": "Turin", "country": "Italy"}
            }
        }]
    })
}

#[test]
fn report_batch_golden_round_trip() {
    let batch: ReportBatch = serde_json::from_value(golden_batch_json()).unwrap();
    assert_eq!(batch.reports[0].seq, 42);
    assert_eq!(batch.reports[0].sample.offered.cpu_millis, 3500);
    assert_eq!(batch.reports[0].sample.gpus[0].model, "Orin");
    assert_eq!(serde_json::to_value(&batch).unwrap(), golden_batch_json());
}

#[test]
fn unknown_keys_from_newer_agents_are_ignored() {
    let mut v = golden_batch_json();
    v["futureField"] = serde_json::json!(true);
    v["reports"][0]["sample"]["newMetric"] = serde_json::json!(1);
    let batch: ReportBatch = serde_json::from_value(v).unwrap();
    assert_eq!(batch.node_name, "pi-kitchen");
}

#[test]
fn ack_and_error_golden() {
    let ack = ReportAck {
        acked_seq: 7,
        accepted: 3,
        duplicates: 1,
        heartbeat_seconds: 10,
    };
    assert_eq!(
        serde_json::to_value(&ack).unwrap(),
        serde_json::json!({"ackedSeq": 7, "accepted": 3, "duplicates": 1, "heartbeatSeconds": 10})
    );
    let err = ErrorBody {
        error: "body is not valid JSON".into(),
        code: "bad_json".into(),
    };
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        serde_json::json!({"error": "body is not valid JSON", "code": "bad_json"})
    );
}

#[test]
fn certificate_response_uses_rfc3339() {
    let json = serde_json::json!({
        "nodeName": "n1", "certificatePem": "C", "caPem": "A",
        "notAfter": "2026-12-02T10:00:00Z", "heartbeatSeconds": 10,
        "hub": {"domain": "fluidos.eu", "nodeID": "abc", "ip": "127.0.0.1:3004"}
    });
    let resp: CertificateResponse = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(resp.not_after.unix_timestamp(), 1_796_205_600);
    assert_eq!(serde_json::to_value(&resp).unwrap(), json);
}
