//! A real Azure Blob Storage endpoint for the tests: Azurite, Microsoft's Azure Storage emulator,
//! from the npm registry (installed by `scripts/azurite-env.sh` into `<target>/tmp/azurite` on
//! first use). One Azurite serves the whole test process, in memory, on a free 127.0.0.1 port,
//! with an account and key of its own; each test writes to a container of its own.
//!
//! jirapipe reaches it as a user reaches a storage account, `AZURE_STORAGE_ACCOUNT_NAME` with the
//! account key or a SAS token, plus object_store's emulator switch: `AZURE_STORAGE_USE_EMULATOR`
//! with the address in `AZURITE_BLOB_STORAGE_URL`. The switch is needed, not just an endpoint:
//! against a real account object_store starts listings after an offset with List Blobs'
//! `startFrom` (service version 2026-02-06), which Azurite 3.35 ignores — every commit after a
//! table's first then fails with "Invalid table version" — and in emulator mode it filters
//! those listings itself (object_store `azure/mod.rs`, `list_with_offset`; Azurite issue 2619,
//! fixed by its PR 2688 in a release that needs Node.js 22).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The storage account Azurite serves (`AZURITE_ACCOUNTS`), and its key.
pub const ACCOUNT: &str = "jirapipetest";
pub const KEY: &str = "Jg6s0TOksY5wW1mgPwDBMH1UlFRY40ArG0aEqXj2Sft3a79mmYxvNN36MTLIEqwqJ8S/s/Dyxp7ChDwHow9EPw==";

/// The REST API version the requests below are signed for.
const API_VERSION: &str = "2021-08-06";

pub struct Azurite {
    pub port: u16,
}

/// The Azurite of this test process, started on first use. It lives as long as the process: it
/// is started from a thread that never ends and asked to die with its parent thread
/// (`PR_SET_PDEATHSIG`), so a test binary that exits, or is killed, leaves none behind.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(Azurite::start)
}

/// `azurite-blob`, installed on first use.
fn installed() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("azurite");
    let out = Command::new("bash")
        .arg(super::root().join("scripts/azurite-env.sh"))
        .arg(&dir)
        .output()
        .expect("run azurite-env.sh");
    assert!(out.status.success(), "azurite-env.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

impl Azurite {
    fn start() -> Self {
        let bin = installed();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its working folder, where it keeps nothing but its log.
        let workspace = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("azurite-{}", std::process::id()));
        std::fs::create_dir_all(&workspace).unwrap();
        let log = workspace.join("azurite.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let (started, spawned) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut cmd = Command::new(&bin);
            cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                // Nothing on disk; `--loose` ignores headers it does not know instead of failing;
                // the API version check would refuse a client newer than this Azurite.
                .args(["--inMemoryPersistence", "--loose", "--skipApiVersionCheck", "--disableTelemetry", "--silent"])
                .current_dir(&workspace)
                .env("AZURITE_ACCOUNTS", format!("{ACCOUNT}:{KEY}"))
                .stdout(Stdio::null())
                .stderr(log_file);
            // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            match cmd.spawn() {
                Ok(mut child) => {
                    started.send(Ok(())).unwrap();
                    let _ = child.wait();
                }
                Err(e) => started.send(Err(format!("cannot start {}: {e}", bin.display()))).unwrap(),
            }
        });
        spawned.recv().unwrap().unwrap_or_else(|e| panic!("{e}"));
        let azurite = Self { port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while azurite.request("GET", "/", "", &[]).is_err() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(Instant::now() < deadline, "Azurite did not answer on port {port}:\n{said}");
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite
    }

    /// The Blob service's address, as `AZURITE_BLOB_STORAGE_URL` takes it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A signed (Shared Key) request to the account; returns the status code.
    /// `path` is below the account, `query` its canonical parameters (`restype=container`).
    fn request(&self, method: &str, path: &str, query: &str, headers: &[(&str, &str)]) -> std::io::Result<u16> {
        let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut ms: Vec<(String, String)> =
            vec![("x-ms-date".into(), date), ("x-ms-version".into(), API_VERSION.into())];
        ms.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ms.sort();
        let canonical_headers: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let mut resource = format!("/{ACCOUNT}/{ACCOUNT}{path}");
        let mut params: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        params.sort();
        for (k, v) in params {
            resource += &format!("\n{k}:{v}");
        }
        // Verb, then eleven standard headers (all empty here), then the x-ms- headers and the
        // resource: learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key.
        let to_sign = format!("{method}\n\n\n\n\n\n\n\n\n\n\n\n{canonical_headers}{resource}");
        let signature = STANDARD.encode(sign(&STANDARD.decode(KEY).unwrap(), &to_sign));
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let target = if query.is_empty() { format!("/{ACCOUNT}{path}") } else { format!("/{ACCOUNT}{path}?{query}") };
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (k, v) in &ms {
            head += &format!("{k}: {v}\r\n");
        }
        write!(
            s,
            "{head}Authorization: SharedKey {ACCOUNT}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        s.read_to_string(&mut response)?;
        response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:.80}")))
    }

    /// A new, empty container named after `prefix`, unique in this process.
    pub fn container(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let status = self.request("PUT", &format!("/{name}"), "restype=container", &[]).unwrap();
        assert_eq!(status, 201, "create container {name}");
        name
    }

    /// What jirapipe needs to reach the account with its key: the environment a user sets.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_via(&self.url())
    }

    /// [`Self::env`] with the Blob service reached at `url` (a proxy in front of it).
    pub fn env_via(&self, url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT.into()),
            ("AZURE_STORAGE_ACCOUNT_KEY", KEY.into()),
            ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
            ("AZURITE_BLOB_STORAGE_URL", url.into()),
        ]
    }

    /// [`Self::env`] with a SAS token for `container` granting `permissions` (`rcwdl`) instead
    /// of the key.
    pub fn sas_env(&self, container: &str, permissions: &str) -> Vec<(&'static str, String)> {
        let mut env = self.env();
        env.retain(|(k, _)| *k != "AZURE_STORAGE_ACCOUNT_KEY");
        env.push(("AZURE_STORAGE_SAS_KEY", service_sas(container, permissions)));
        env
    }

    /// The credentials as deltalake's `storage_options`, for the independent reader and for
    /// stores opened in the tests (with [`Self::reader_env`] for the address).
    pub fn storage_options(&self) -> Vec<(&'static str, String)> {
        vec![("account_name", ACCOUNT.into()), ("account_key", KEY.into()), ("use_emulator", "true".into())]
    }

    /// The address, which object_store's emulator mode reads from the environment only.
    pub fn reader_env(&self) -> Vec<(&'static str, String)> {
        vec![("AZURITE_BLOB_STORAGE_URL", self.url())]
    }

    /// `storage_options` for a store opened inside the test process, which cannot set
    /// `AZURITE_BLOB_STORAGE_URL` (the other tests' threads read the environment): the account's
    /// address as a custom endpoint, fit for everything but listings after an offset.
    pub fn in_process_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("account_name", ACCOUNT.into()),
            ("account_key", KEY.into()),
            ("endpoint", format!("{}/{ACCOUNT}", self.url())),
            ("allow_http", "true".into()),
        ]
    }
}

fn sign(key: &[u8], text: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A service SAS for one container, valid for a day: the query string a user copies from the
/// portal or `az storage container generate-sas`. Its string to sign (version 2020-12-06 and
/// later) is in learn.microsoft.com/rest/api/storageservices/create-service-sas.
pub fn service_sas(container: &str, permissions: &str) -> String {
    let expiry = (chrono::Utc::now() + chrono::TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let version = "2022-11-02";
    let resource = format!("/blob/{ACCOUNT}/{container}");
    // permissions, start, expiry, resource, identifier, IP, protocol, version, resource type,
    // snapshot time, encryption scope, then the five response headers.
    let to_sign = format!("{permissions}\n\n{expiry}\n{resource}\n\n\nhttps,http\n{version}\nc\n\n\n\n\n\n\n");
    let signature = STANDARD.encode(sign(&STANDARD.decode(KEY).unwrap(), &to_sign));
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("sv={version}&sr=c&sp={permissions}&se={}&spr=https,http&sig={}", encode(&expiry), encode(&signature))
}
