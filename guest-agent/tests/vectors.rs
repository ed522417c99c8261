//! The shared vectors pin the exact bytes; the TypeScript host runs the same file, so passing
//! here and there means the two implementations agree byte for byte.

use faas_guest_agent::protocol::{Frame, FrameType, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use serde_json::Value;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../common/test-vectors/agent-protocol.json"
    );
    let text = std::fs::read_to_string(path).expect("read common/test-vectors/agent-protocol.json");
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn frame_type(name: &str) -> FrameType {
    match name {
        "HELLO" => FrameType::Hello,
        "EXEC" => FrameType::Exec,
        "RESET" => FrameType::Reset,
        "SHUTDOWN" => FrameType::Shutdown,
        "HELLO_OK" => FrameType::HelloOk,
        "EXEC_RESULT" => FrameType::ExecResult,
        "RESET_OK" => FrameType::ResetOk,
        "SHUTDOWN_OK" => FrameType::ShutdownOk,
        "REFRESH" => FrameType::Refresh,
        "REFRESH_OK" => FrameType::RefreshOk,
        "ERROR" => FrameType::Error,
        other => panic!("unknown type name {other}"),
    }
}

#[test]
fn header_matches_this_build() {
    let doc = load();
    assert_eq!(doc["protocol_version"], PROTOCOL_VERSION);
    assert_eq!(doc["max_frame_bytes"], MAX_FRAME_BYTES);
}

#[test]
fn every_vector() {
    let doc = load();
    let vectors = doc["vectors"].as_array().expect("vectors array");
    assert!(vectors.len() >= 20);
    let mut valid_types = std::collections::HashSet::new();
    for v in vectors {
        let name = v["name"].as_str().expect("name");
        let bytes = unhex(v["hex"].as_str().expect("hex"));
        let decoded = Frame::decode(&bytes, MAX_FRAME_BYTES);
        if let Some(code) = v.get("error").and_then(Value::as_str) {
            let err = decoded.expect_err(name);
            assert_eq!(err.code(), code, "vector {name}: {err:?}");
            continue;
        }
        let msg = &v["message"];
        let t = frame_type(msg["type"].as_str().expect("type"));
        valid_types.insert(t as u8);
        let body = serde_json::to_vec(&msg["body"]).expect("body");
        let expected =
            Frame::decode_body(t, &body).unwrap_or_else(|e| panic!("vector {name}: {e:?}"));
        assert_eq!(decoded.as_ref(), Ok(&expected), "decode {name}");
        assert_eq!(expected.encode(), bytes, "encode {name}");
    }
    assert_eq!(valid_types.len(), 11, "every frame type has a vector");
}
