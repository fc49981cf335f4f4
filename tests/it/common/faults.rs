//! `tests/fault_proxy.py` in front of a real store (moto's S3, Azurite's Blob service): it
//! forwards every request, except those its rules fail (the store's error status and body, a
//! stall, a reset), so storage faults hit the real client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Whose error bodies the proxy answers with.
#[derive(Debug, Clone, Copy)]
pub enum Errors {
    S3,
    Azure,
}

pub struct FaultProxy {
    child: Child,
    pub port: u16,
}

impl FaultProxy {
    /// A proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, errors: Errors) -> Self {
        let script = super::root().join("tests/fault_proxy.py");
        let errors = match errors {
            Errors::S3 => "s3",
            Errors::Azure => "azure",
        };
        let mut child = Command::new(super::python())
            .arg(&script)
            .args(["--upstream", upstream, "--errors", errors])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let port = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            panic!("fault proxy did not start: {line:?}");
        });
        Self { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn control(&self, request: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response
    }

    /// Replaces the rules (see the script's doc): a JSON array.
    pub fn rules(&self, rules: serde_json::Value) {
        let body = rules.to_string();
        let response = self.control(&format!(
            "POST /_proxy/rules HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    /// Every request seen, in order: `(method, path, the action of the rule that failed it)`.
    pub fn log(&self) -> Vec<(String, String, Option<String>)> {
        let response = self.control("GET /_proxy/log HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("[]");
        let log: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
        log.iter()
            .map(|e| {
                let text = |k: &str| e[k].as_str().map(str::to_string);
                (text("method").unwrap(), text("path").unwrap(), text("fault"))
            })
            .collect()
    }

    /// The requests seen that a rule failed: `(method, path)`.
    pub fn faults(&self) -> Vec<(String, String)> {
        self.log().into_iter().filter(|(.., fault)| fault.is_some()).map(|(m, p, _)| (m, p)).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
