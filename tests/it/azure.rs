//! Tables on Azure Blob Storage, written to Azurite (Microsoft's emulator, installed from npm on
//! first use; see `common::azure`) the way a user configures an account — `AZURE_STORAGE_*`
//! with the account key or a SAS token, or an Entra ID credential — and read back by Python
//! `deltalake` with its `storage_options`, value by value against the simulator: a first load
//! and an incremental run with deletes through both URL forms (`az://` and `abfss://`), a
//! container-scoped SAS, a service principal, workload identity and a managed identity, the
//! create-if-absent put that Delta commits and the lease rest on, and two runs contending for
//! the lease. A run killed between a data write and its commit, and storage faults, are in
//! `storage.rs`, for S3 and Azure alike.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use deltalake::logstore::object_store::path::Path as StorePath;
use deltalake::logstore::object_store::{self, ObjectStore, PutMode, PutPayload};
use futures::TryStreamExt;
use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use serde_json::Value;

use crate::common::azure::{self, azurite};
use crate::common::{self, Out, PipelineYaml};

const OBJECTS: &str =
    "  issues: {fields: {include: [summary, updated, status]}, reconcile_every: 0s}\n  projects: {}\n  users: {}";

fn run(sim: &RunningSim, env: &[(&'static str, String)], file: &Path, args: &[&str]) -> Out {
    let mut cmd = common::jirapipe_for(sim);
    cmd.arg("run").arg(file).args(args).envs(env.iter().cloned());
    common::output(&mut cmd)
}

/// The rows of the table at `url` as Python `deltalake` reads them, given the credentials as
/// `storage_options` (no `AZURE_*` variable).
fn read(url: &str) -> Vec<Value> {
    common::read_delta_with(url, &azurite().reader_env(), &azurite().storage_options()).1
}

/// An issue as compared: `(id, key, summary, updated µs)`.
type Issue = (String, String, Value, i64);

/// The issues' `(id, key, summary, updated µs)` as the table holds them (live rows only) and as
/// the simulator serves them.
fn issues_and_truth(rows: &[Value], sim: &RunningSim) -> (Vec<Issue>, Vec<Issue>) {
    let got = rows
        .iter()
        .filter(|r| r["_deleted_at"].is_null())
        .map(|r| {
            let text = |c: &str| r[c].as_str().unwrap_or_else(|| panic!("{c} in {r}")).to_string();
            (text("id"), text("key"), r["summary"].clone(), r["updated"].as_i64().unwrap())
        })
        .collect();
    let mut want: Vec<_> = sim
        .visible_issues()
        .into_iter()
        .map(|(id, key, ms)| (id.to_string(), key, sim.issue_fields(id).unwrap()["summary"].clone(), ms * 1000))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    (got, want)
}

/// The object store at `url` (a folder) as deltalake opens it.
fn store_at(url: &str) -> Arc<dyn ObjectStore> {
    deltalake::azure::register_handlers(None);
    let options: HashMap<String, String> =
        azurite().in_process_options().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    deltalake::logstore::store_for(&url::Url::parse(url).unwrap(), options).unwrap()
}

/// The whole container.
fn store(container: &str) -> Arc<dyn ObjectStore> {
    store_at(&format!("az://{container}/"))
}

#[tokio::test(flavor = "multi_thread")]
async fn first_load_incremental_and_deletes_through_both_url_forms() {
    let container = azurite().container("load");
    let sim = common::sim_with_issues(700).await;
    let dir = tempfile::tempdir().unwrap();
    let az =
        PipelineYaml::new("az", OBJECTS).source("requests_per_second", "500").url(&format!("az://{container}/jira"));
    // The Hadoop driver's form names the account in the host; the address still comes from the
    // environment.
    let abfss = az.clone().url(&format!("abfss://{container}@{}.dfs.core.windows.net/jira", azure::ACCOUNT));
    let env = azurite().env();

    let out = run(&sim, &env, &az.write(dir.path(), "az.yaml"), &[]);
    assert_eq!(out.code, Some(0), "first run: {}", out.stderr);
    let table = format!("az://{container}/jira/issues");
    let (got, want) = issues_and_truth(&read(&table), &sim);
    assert_eq!(got.len(), 700);
    assert!(got == want, "the first load equals the simulator's issues");

    sim.edit_issues(5, 50, 9);
    sim.delete_issues(&[10_007]);
    let out = run(&sim, &env, &abfss.write(dir.path(), "abfss.yaml"), &[]);
    assert_eq!(out.code, Some(0), "incremental run: {}", out.stderr);
    assert!(out.stdout.contains("issues") && out.stdout.contains("(version 1)"), "{}", out.stdout);

    let rows = read(&table);
    let (got, want) = issues_and_truth(&rows, &sim);
    assert_eq!(got.len(), 699);
    assert!(got == want, "live rows equal the simulator's issues after the merge");
    let gone: Vec<&str> =
        rows.iter().filter(|r| !r["_deleted_at"].is_null()).map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(gone, ["10007"], "the deleted issue is soft-deleted");
    let projects = read(&format!("az://{container}/jira/projects"));
    assert_eq!(projects.len(), 5);
    assert_eq!(read(&format!("az://{container}/jira/users")).len(), 40);
    assert_eq!(read(&format!("az://{container}/jira/_runs")).len(), 6, "two runs of three objects");
    // Both runs committed the lease's records in the same place and released it.
    let store = store(&container);
    let lease: Vec<_> = store.list(Some(&StorePath::from("jira/_jirapipe/lease/az"))).try_collect().await.unwrap();
    assert!(!lease.is_empty(), "the lease lives beside the tables");
}

#[test]
fn a_sas_token_for_the_container_is_enough_and_a_wrong_credential_names_the_table() {
    let container = azurite().container("sas");
    let (_rt, sim) = common::blocking_sim(SimConfig {
        data: DatasetConfig { issues: 120, ..Default::default() },
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("az://{container}/jira");
    let file =
        PipelineYaml::new("sas", OBJECTS).source("requests_per_second", "500").url(&url).write(dir.path(), "s.yaml");

    // Read, create, write, delete and list on this one container: the least a run needs.
    let sas = azurite().sas_env(&container, "rcwdl");
    assert!(!sas.iter().any(|(k, _)| *k == "AZURE_STORAGE_ACCOUNT_KEY"));
    for round in 0..2 {
        let out = run(&sim, &sas, &file, &[]);
        assert_eq!(out.code, Some(0), "run {round} with the SAS token: {}", out.stderr);
        assert!(!out.stderr.contains("sig="), "the token is never printed: {}", out.stderr);
        sim.edit_issues(3, 17, 4);
    }
    let (got, want) = issues_and_truth(&read(&format!("{url}/issues")), &sim);
    assert_eq!(got.len(), 120);
    assert!(got != want, "the last edits were made after the last run");
    let out = run(&sim, &sas, &file, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let (got, want) = issues_and_truth(&read(&format!("{url}/issues")), &sim);
    assert!(got == want, "the SAS-written table equals the simulator's issues");

    // A token for another container, and a wrong account key: exit 1, the destination named,
    // the secret not printed.
    let other = azurite().container("other");
    let wrong_key = {
        let mut env = azurite().env();
        env.retain(|(k, _)| *k != "AZURE_STORAGE_ACCOUNT_KEY");
        env.push(("AZURE_STORAGE_ACCOUNT_KEY", azure::KEY.replace('J', "K")));
        env
    };
    for (case, env) in [("SAS of another container", azurite().sas_env(&other, "rcwdl")), ("wrong key", wrong_key)] {
        let out = run(&sim, &env, &file, &[]);
        assert_eq!(out.code, Some(1), "{case}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(&url), "{case}: the destination is named: {}", out.stderr);
        assert!(out.stderr.contains("403"), "{case}: Azure's answer is shown: {}", out.stderr);
        assert!(!out.stderr.contains("sig=") && !out.stderr.contains(azure::KEY), "{case}: {}", out.stderr);
    }
}

/// Delta commits (`_delta_log/N.json`) and the lease's records are written with object_store's
/// `PutMode::Create`, which on Azure is a Put Blob with `If-None-Match: *`. Azure answers a
/// second create of one name with 409 BlobAlreadyExists, which object_store reports as
/// `AlreadyExists` — the one error deltalake turns into "version already exists" and retries
/// on (`DefaultLogStore::write_commit_entry`). Azurite must do the same, or the other tests
/// here prove nothing about commits.
#[tokio::test(flavor = "multi_thread")]
async fn azure_refuses_a_second_create_of_one_commit_file() {
    let container = azurite().container("commit");
    let store = store(&container);
    let path = StorePath::from("t/_delta_log/00000000000000000000.json");
    let create = || store.put_opts(&path, PutPayload::from_static(b"{}"), PutMode::Create.into());
    create().await.expect("the first create of the commit file");
    let second = create().await.expect_err("a second create of the same commit file must fail");
    assert!(matches!(second, object_store::Error::AlreadyExists { .. }), "{second:?}");
    // Sixteen writers racing for the next version: exactly one wins.
    let next = StorePath::from("t/_delta_log/00000000000000000001.json");
    let racers = (0..16).map(|i| {
        let (store, next) = (store.clone(), next.clone());
        tokio::spawn(
            async move { store.put_opts(&next, PutPayload::from(format!("{i}")), PutMode::Create.into()).await },
        )
    });
    let results: Vec<_> = futures::future::join_all(racers).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, object_store::Error::AlreadyExists { .. }))
    );
}

/// A site whose issue-search pages take `page`, so runs last long enough to overlap.
fn slow_site(issues: u64, page: Duration) -> (tokio::runtime::Runtime, RunningSim) {
    common::blocking_sim(SimConfig {
        data: DatasetConfig { issues, ..Default::default() },
        behaviour: Behaviour { search_latency: page, ..Default::default() },
        ..Default::default()
    })
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn two_concurrent_runs_one_runs_the_other_exits_3() {
    let container = azurite().container("lease");
    let (_rt, sim) = slow_site(300, Duration::from_millis(700));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("az://{container}/jira");
    let file = PipelineYaml::new("sched", "  issues: {sync: full_refresh, fields: {include: [summary]}}")
        .source("concurrency", "1")
        .url(&url)
        .write(dir.path(), "sched.yaml");
    let spawn = || {
        let mut c = common::jirapipe_for(&sim);
        c.arg("run").arg(&file).envs(azurite().env()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut results = [finish(a), finish(b)];
    results.sort();
    let [(ok, ok_out), (busy, busy_out)] = results;
    assert_eq!((ok, busy), (0, 3), "{ok_out}\n---\n{busy_out}");
    assert!(busy_out.contains("pipeline `sched` is already running"), "{busy_out}");
    assert!(busy_out.contains("holds its lease since"), "{busy_out}");

    let rows = read(&format!("{url}/issues"));
    assert_eq!(rows.len(), 300, "the table is complete");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lock = jirapipe::schedule::LeaseLock::new(
            store_at(&format!("{url}/")),
            "sched",
            Duration::from_secs(60),
            Arc::new(jirapipe::schedule::SystemClock),
        );
        let record = lock.current().await.unwrap().expect("a lease record");
        assert!(record.released_at.is_some(), "the lease is released after the run: {record:?}");
    });
}

/// The three Entra ID credentials — a service principal's client secret, workload identity's
/// federated token file, a user-assigned managed identity — each make a first load into a
/// container of the HTTPS Azurite that takes bearer tokens, from the token endpoints of
/// `tests/entra_token.py`; the tables read back equal the simulator's issues, and a wrong secret
/// ends the run with exit 1 naming the destination and not the secret. Only first loads: these
/// credentials need object_store's real-account mode, whose listings after an offset Azurite
/// 3.35 does not serve (see `common::azure`), and a first load lists none.
#[test]
fn entra_id_credentials_make_a_first_load() {
    use crate::common::azure::{CLIENT_ID, CLIENT_SECRET, EntraId, MANAGED_CLIENT_ID, TENANT, azurite_oauth, tls};
    let az = azurite_oauth();
    let dir = tempfile::tempdir().unwrap();
    let entra = EntraId::start(dir.path());
    let (_rt, sim) = common::blocking_sim(SimConfig {
        data: DatasetConfig { issues: 80, ..Default::default() },
        ..Default::default()
    });
    let base = || -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_ACCOUNT_NAME", azure::ACCOUNT.into()),
            ("AZURE_STORAGE_ENDPOINT", format!("{}/{}", az.url(), azure::ACCOUNT)),
            ("SSL_CERT_FILE", tls().ca.display().to_string()),
        ]
    };
    let token_file = entra.federated_token_file.display().to_string();
    type Env = Vec<(&'static str, String)>;
    let cases: [(&str, Env, (&str, &str)); 3] = [
        (
            "service principal",
            vec![
                ("AZURE_CLIENT_ID", CLIENT_ID.into()),
                ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
                ("AZURE_TENANT_ID", TENANT.into()),
                ("AZURE_AUTHORITY_HOST", entra.authority_host()),
            ],
            ("client_secret", CLIENT_ID),
        ),
        (
            "workload identity",
            vec![
                ("AZURE_CLIENT_ID", CLIENT_ID.into()),
                ("AZURE_TENANT_ID", TENANT.into()),
                ("AZURE_FEDERATED_TOKEN_FILE", token_file),
                ("AZURE_AUTHORITY_HOST", entra.authority_host()),
            ],
            ("workload_identity", CLIENT_ID),
        ),
        (
            "managed identity",
            vec![
                ("AZURE_CLIENT_ID", MANAGED_CLIENT_ID.into()),
                ("AZURE_MSI_ENDPOINT", format!("{}/metadata/identity/oauth2/token", entra.authority_host())),
            ],
            ("managed_identity", MANAGED_CLIENT_ID),
        ),
    ];
    let objects = "  issues: {fields: {include: [summary, updated]}}\n  users: {}";
    for (case, credential, grant) in cases {
        let container = az.container("entra");
        let url = format!("az://{container}/jira");
        let file = PipelineYaml::new("entra", objects)
            .source("requests_per_second", "500")
            .url(&url)
            .write(dir.path(), "e.yaml");
        let env: Vec<_> = base().into_iter().chain(credential).collect();
        let out = run(&sim, &env, &file, &[]);
        assert_eq!(out.code, Some(0), "{case}: {}", out.stderr);
        let want = (grant.0.to_string(), grant.1.to_string());
        assert!(entra.grants().contains(&want), "{case}: token granted by {want:?}: {:?}", entra.grants());
        let options = [
            ("account_name", azure::ACCOUNT.to_string()),
            ("account_key", azure::KEY.to_string()),
            ("endpoint", format!("{}/{}", az.url(), azure::ACCOUNT)),
        ];
        let ca = [("SSL_CERT_FILE", tls().ca.display().to_string())];
        let rows = common::read_delta_with(format!("{url}/issues"), &ca, &options).1;
        let (got, want) = issues_and_truth(&rows, &sim);
        assert_eq!(got.len(), 80, "{case}");
        assert!(got == want, "{case}: the table equals the simulator's issues");
    }

    let container = az.container("entra");
    let url = format!("az://{container}/jira");
    let file =
        PipelineYaml::new("entra", objects).url(&url).destination("retry_timeout", "2s").write(dir.path(), "e.yaml");
    let wrong = "not-the-secret-of-this-app";
    let mut env = base();
    env.extend([
        ("AZURE_CLIENT_ID", CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET", wrong.into()),
        ("AZURE_TENANT_ID", TENANT.into()),
        ("AZURE_AUTHORITY_HOST", entra.authority_host()),
    ]);
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&url), "the destination is named: {}", out.stderr);
    assert!(out.stderr.contains("invalid_client") || out.stderr.contains("401"), "{}", out.stderr);
    assert!(!out.stderr.contains(wrong), "the secret is not printed: {}", out.stderr);
}
