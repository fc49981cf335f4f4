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
    /// Served over HTTPS with [`tls`]'s certificate, taking Entra ID tokens (`--oauth basic`).
    oauth: bool,
}

/// The Azurite of this test process, started on first use. It lives as long as the process: it
/// is started from a thread that never ends and asked to die with its parent thread
/// (`PR_SET_PDEATHSIG`), so a test binary that exits, or is killed, leaves none behind.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| Azurite::start(false))
}

/// A second Azurite, over HTTPS, that also takes Entra ID bearer tokens: Azurite accepts them
/// only over HTTPS, and checks their audience, issuer and lifetime, not their signature.
pub fn azurite_oauth() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| Azurite::start(true))
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

/// A new folder `<target>/tmp/{kind}-{pid}` for this test process; those of test processes that
/// have ended are removed first.
fn scratch(kind: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{kind}-");
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A test certificate authority and the certificate it signs for 127.0.0.1, made once per test
/// process with the machine's `openssl`. Clients trust the CA through `SSL_CERT_FILE`, which the
/// native root store of object_store's TLS reads.
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        let dir = scratch("tls");
        let ext = dir.join("leaf.cnf");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let steps: [Vec<&str>; 3] = [
            [&["req", "-x509"][..], &ec, &["-days", "3", "-subj", "/CN=jirapipe test CA", "-keyout", "ca.key"]]
                .concat()
                .into_iter()
                .chain(["-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE"])
                .collect(),
            [&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]].concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "3",
                "-out",
                "cert.pem",
                "-extfile",
                "leaf.cnf",
            ],
        ];
        for args in steps {
            let out = Command::new("openssl").args(&args).current_dir(&dir).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        Tls { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") }
    })
}

impl Azurite {
    fn start(oauth: bool) -> Self {
        let bin = installed();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its working folder, where it keeps nothing but its log.
        let workspace = scratch(if oauth { "azurite-oauth" } else { "azurite-http" });
        let log = workspace.join("azurite.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        if oauth {
            let tls = tls();
            args.extend(["--oauth".into(), "basic".into(), "--cert".into(), tls.cert.clone().into()]);
            args.extend(["--key".into(), tls.key.clone().into()]);
        }
        let (started, spawned) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut cmd = Command::new(&bin);
            cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                // Nothing on disk; `--loose` ignores headers it does not know instead of failing;
                // the API version check would refuse a client newer than this Azurite.
                .args(["--inMemoryPersistence", "--loose", "--skipApiVersionCheck", "--disableTelemetry", "--silent"])
                .args(&args)
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
        let azurite = Self { port, oauth };
        let deadline = Instant::now() + Duration::from_secs(60);
        while azurite.request("GET", "", "comp=list").is_err() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(Instant::now() < deadline, "Azurite did not answer on port {port}:\n{said}");
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite
    }

    /// The Blob service's address, as `AZURITE_BLOB_STORAGE_URL` takes it.
    pub fn url(&self) -> String {
        let scheme = if self.oauth { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A request signed with the account key (Shared Key), in a thread of its own (the caller
    /// may be inside a runtime); returns the status code. `path` is below the account, `query`
    /// its canonical parameters (`restype=container`).
    fn request(&self, method: &str, path: &str, query: &str) -> Result<u16, String> {
        let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let canonical_headers = format!("x-ms-date:{date}\nx-ms-version:{API_VERSION}\n");
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
        let url = format!("{}/{ACCOUNT}{path}?{query}", self.url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let ca = self.oauth.then(|| std::fs::read(&tls().ca).unwrap());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut client = reqwest::Client::builder().timeout(Duration::from_secs(10));
                if let Some(ca) = ca {
                    client = client.add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
                }
                let response = client
                    .build()
                    .unwrap()
                    .request(method, url)
                    .header("x-ms-date", date)
                    .header("x-ms-version", API_VERSION)
                    .header("Authorization", format!("SharedKey {ACCOUNT}:{signature}"))
                    .header("Content-Length", "0")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(response.status().as_u16())
            })
        })
        .join()
        .unwrap()
    }

    /// A new, empty container named after `prefix`, unique in this process.
    pub fn container(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let status = self.request("PUT", &format!("/{name}"), "restype=container").unwrap();
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

/// `tests/entra_token.py`: Entra ID's token endpoints for one tenant, one app registration
/// (a client secret and a federated credential) and one user-assigned managed identity, over
/// HTTPS with [`tls`]'s certificate.
pub struct EntraId {
    child: std::process::Child,
    pub port: u16,
    pub federated_token_file: PathBuf,
}

pub const TENANT: &str = "5b0c3e5a-8a53-4c6e-9d0e-2f4f3c1d7a10";
pub const CLIENT_ID: &str = "0f4d2c8e-6b1a-4f4e-a3c2-9e7d5b1a2c3d";
pub const CLIENT_SECRET: &str = "jirapipe-test-client-secret~0123456789";
pub const MANAGED_CLIENT_ID: &str = "7c1e9a2b-3d4f-4a5b-8c6d-1e2f3a4b5c6d";
const FEDERATED_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6amlyYTpqaXJhcGlwZSJ9.c2ln";

impl EntraId {
    pub fn start(dir: &Path) -> Self {
        let tls = tls();
        let federated_token_file = dir.join("azure-identity-token");
        std::fs::write(&federated_token_file, FEDERATED_TOKEN).unwrap();
        let script = super::root().join("tests/entra_token.py");
        let mut child = Command::new(super::python())
            .arg(&script)
            .arg("--cert")
            .arg(&tls.cert)
            .arg("--key")
            .arg(&tls.key)
            .args(["--tenant", TENANT, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(["--federated-token", FEDERATED_TOKEN, "--managed-client-id", MANAGED_CLIENT_ID])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let port = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            panic!("entra_token.py did not start: {line:?}");
        });
        Self { child, port, federated_token_file }
    }

    /// `AZURE_AUTHORITY_HOST`.
    pub fn authority_host(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The grants made so far: `(flow, client id)`.
    pub fn grants(&self) -> Vec<(String, String)> {
        let url = format!("{}/_log", self.authority_host());
        let ca = std::fs::read(&tls().ca).unwrap();
        let body = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let client = reqwest::Client::builder()
                    .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
                    .build()
                    .unwrap();
                client.get(url).send().await.unwrap().text().await.unwrap()
            })
        })
        .join()
        .unwrap();
        let log: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        log.iter()
            .map(|g| (g["flow"].as_str().unwrap().to_string(), g["client_id"].as_str().unwrap().to_string()))
            .collect()
    }
}

impl Drop for EntraId {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
