//! Parse config.json into `oci_spec::runtime::Spec`, turning serde's errors
//! into messages that name the JSON path and the offending value.

use super::SpecError;
use oci_spec::runtime::Spec;
use std::path::Path;

/// Reads and parses `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    let path = bundle.join("config.json");
    let data = std::fs::read(&path).map_err(|e| SpecError {
        file: path.display().to_string(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file (is --bundle right?)".into(),
            _ => e.to_string(),
        },
    })?;
    parse(&data)
}

/// Parses config.json contents.
pub fn parse(data: &[u8]) -> Result<Spec, SpecError> {
    let fail = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        SpecError::config(describe(&path, &inner))
    };
    if !needs_renames(data) {
        let de = &mut serde_json::Deserializer::from_slice(data);
        return serde_path_to_error::deserialize(de).map_err(fail);
    }
    // oci-spec 0.10 spells two scheduler flags differently from the spec:
    // rewrite them first (only configs that use them pay for this).
    let mut v: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| SpecError::config(describe("", &e)))?;
    if let Some(p) = v.get_mut("process") {
        crate::process::scheduler::normalize_flag_names(p);
    }
    serde_path_to_error::deserialize(v).map_err(fail)
}

fn needs_renames(data: &[u8]) -> bool {
    const NEEDLES: [&[u8]; 2] = [b"SCHED_FLAG_RESET_ON_FORK", b"SCHED_FLAG_DL_OVERRUN"];
    NEEDLES
        .iter()
        .any(|n| data.windows(n.len()).any(|w| w == *n))
}

/// Words one serde error: `<path> "<value>" is unknown` for unknown enum
/// values, the serde message with the path otherwise.
fn describe(path: &str, err: &serde_json::Error) -> String {
    let msg = err.to_string();
    if err.is_syntax() || err.is_eof() {
        return format!("not valid JSON: {msg}");
    }
    // serde: "unknown variant `pidd`, expected one of `pid`, ... at line 1 column 9"
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        if let Some(end) = rest.find('`') {
            return format!("{path} \"{}\" is unknown", &rest[..end]);
        }
    }
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if path.is_empty() || path == "." {
        msg
    } else {
        format!("{path}: {msg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_rlimit_names_path_and_value() {
        let j = br#"{"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":["sh"],
            "rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1},{"type":"RLIMIT_FOO","hard":1,"soft":1}]}}"#;
        let e = parse(j).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"config.json: process.rlimits[1].type "RLIMIT_FOO" is unknown"#
        );
    }

    #[test]
    fn unknown_namespace_names_path_and_value() {
        let j =
            br#"{"ociVersion":"1.3.0","linux":{"namespaces":[{"type":"pid"},{"type":"pidd"}]}}"#;
        let e = parse(j).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"config.json: linux.namespaces[1].type "pidd" is unknown"#
        );
    }

    #[test]
    fn spec_scheduler_flag_names_load() {
        let j =
            br#"{"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":["sh"],
            "scheduler":{"policy":"SCHED_OTHER","flags":["SCHED_FLAG_RESET_ON_FORK"]}}}"#;
        let s = parse(j).unwrap();
        let flags = s
            .process()
            .as_ref()
            .unwrap()
            .scheduler()
            .as_ref()
            .unwrap()
            .flags()
            .clone();
        assert_eq!(flags.unwrap().len(), 1);
    }

    #[test]
    fn malformed_json_says_so() {
        let e = parse(b"{\"ociVersion\": ").unwrap_err();
        assert!(
            e.to_string().starts_with("config.json: not valid JSON"),
            "{e}"
        );
    }
}
