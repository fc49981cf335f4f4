//! A real Prometheus for the monitoring tests: Debian's `prometheus` package (with `promtool`),
//! installed on first use like the Python venv, and a server of our own per test (a config, a
//! TSDB folder and a port of its own), never the system service.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `prometheus` and `promtool`, installed with apt-get when missing (as root, as on the project's
/// machines and CI). Debian's package would start its own service: a `policy-rc.d` that forbids
/// it is put in place for the install when the machine has none.
pub fn tools() -> (PathBuf, PathBuf) {
    static TOOLS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let find = |name: &str| {
                ["/usr/bin", "/usr/local/bin", "/bin"].iter().map(|d| Path::new(d).join(name)).find(|p| p.exists())
            };
            if find("prometheus").is_none() || find("promtool").is_none() {
                install();
            }
            let p = find("prometheus").expect("prometheus installed");
            let t = find("promtool").expect("promtool installed");
            (p, t)
        })
        .clone()
}

fn install() {
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let ours = !policy.exists();
    if ours {
        std::fs::write(policy, "#!/bin/sh\n# jirapipe's tests: no service starts during their install.\nexit 101\n")
            .expect("cannot write /usr/sbin/policy-rc.d: the monitoring tests install Debian's prometheus as root");
        Command::new("chmod").args(["0755"]).arg(policy).status().unwrap();
    }
    let apt = |args: &[&str]| {
        let out = Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let install = ["install", "-y", "-q", "--no-install-recommends", "prometheus"];
    let (mut ok, mut err) = apt(&install);
    if !ok {
        apt(&["update", "-q"]);
        (ok, err) = apt(&install);
    }
    if ours {
        let _ = std::fs::remove_file(policy);
    }
    assert!(
        ok,
        "apt-get install prometheus failed (the monitoring tests need Debian's prometheus and promtool):\n{err}"
    );
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET http://{addr}{path}`: the status and the body. Plain HTTP/1.1 over a socket, so a test
/// without a runtime can ask.
pub fn get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok((status, if chunked { unchunk(body) } else { body.to_string() }))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A Prometheus server scraping `targets` every second, with `rules` loaded; killed on drop.
pub struct Prometheus {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub fn start(targets: &[String], rules: &[PathBuf]) -> Self {
        let (prometheus, _) = tools();
        let dir = tempfile::tempdir().unwrap();
        let quote = |s: &str| format!("'{s}'");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{}]\nscrape_configs:\n  - job_name: jirapipe\n    static_configs:\n      - targets: [{}]\n",
            rules.iter().map(|r| quote(&r.display().to_string())).collect::<Vec<_>>().join(", "),
            targets.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", "),
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(prometheus)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let p = Self { child, addr, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(get(&p.addr, "/-/ready"), Ok((200, _))) {
            assert!(Instant::now() < deadline, "prometheus did not start:\n{}", p.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `/api/v1/{what}?{query}`'s `data`; panics unless Prometheus says `success`.
    pub fn api(&self, what: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let (status, body) = get(&self.addr, &format!("/api/v1/{what}?{query}")).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}?{query}: HTTP {status}: {e}: {body}"));
        assert_eq!(v["status"], "success", "{what}?{query}: {body}");
        v["data"].clone()
    }

    /// The instant vector of `expr`: each series' labels and value.
    pub fn query(&self, expr: &str) -> Vec<(serde_json::Value, f64)> {
        let data = self.api("query", &[("query", expr)]);
        data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{expr}: {data}"))
            .iter()
            .map(|r| (r["metric"].clone(), r["value"][1].as_str().unwrap().parse().unwrap()))
            .collect()
    }

    /// Waits until `expr` returns something.
    pub fn wait_for(&self, expr: &str, within: Duration) -> Vec<(serde_json::Value, f64)> {
        let deadline = Instant::now() + within;
        loop {
            let found = self.query(expr);
            if !found.is_empty() {
                return found;
            }
            assert!(Instant::now() < deadline, "no result for `{expr}` within {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
