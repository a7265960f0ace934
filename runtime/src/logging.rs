//! `--log FILE --log-format text|json`: runc-compatible log lines.
//!
//! containerd's shim and conmon read the last `error` line of this file to
//! tell the user why a container failed, so errors go there as well as to
//! stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `time="..." level=error msg="..."`
    Text,
    /// `{"level":"error","msg":"...","time":"..."}`
    Json,
}

struct Logger {
    file: Option<File>,
    format: LogFormat,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once per process. A log file that cannot be opened is an
/// error (the manager asked for it and will look there).
pub fn init(path: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("--log {}: {e}", p.display()))
                })?,
        ),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    Ok(())
}

/// Logs an error to the log file (if any) and prints it as one line on stderr.
pub fn error(msg: &str) {
    eprintln!("berth: {msg}");
    write_line("error", msg);
}

/// Logs a warning to the log file and stderr.
pub fn warn(msg: &str) {
    eprintln!("berth: warning: {msg}");
    write_line("warning", msg);
}

/// Logs a debug line when `--debug` was given.
pub fn debug(msg: &str) {
    if LOGGER.get().is_some_and(|l| l.debug) {
        write_line("debug", msg);
        if LOGGER.get().is_some_and(|l| l.file.is_none()) {
            eprintln!("berth: debug: {msg}");
        }
    }
}

fn write_line(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else { return };
    let Some(mut file) = logger.file.as_ref() else {
        return;
    };
    let line = format_line(logger.format, level, msg, &rfc3339_now());
    // One write per line keeps concurrent writers' lines whole (O_APPEND).
    let _ = file.write_all(line.as_bytes());
}

/// One log line in the chosen format, newline-terminated.
pub fn format_line(format: LogFormat, level: &str, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        }
        LogFormat::Text => format!("time=\"{time}\" level={level} msg={:?}\n", msg),
    }
}

/// The current time as RFC 3339 in UTC with nanoseconds, as runc writes it.
pub fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Formats seconds since the epoch (UTC) as RFC 3339.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_795_359_600, 0), "2026-11-22T15:00:00.000000000Z");
    }

    #[test]
    fn json_line_has_runc_fields() {
        let l = format_line(LogFormat::Json, "error", "boom \"x\"", "T");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "boom \"x\"");
        assert_eq!(v["time"], "T");
        assert!(l.ends_with('\n'));
    }
}
