//! `TestApp`: a fresh, migrated database per test and the application over it.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use solidarity_market::config::Config;
use solidarity_market::{AppState, app, db};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

/// Where a test's database lives, and how to remove it afterwards.
enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A database the test made and removes itself.
    Owned,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Dropping happens outside any runtime the test may still be shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let admin = sea_orm::Database::connect(&admin_url).await.ok()?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// The PostgreSQL server to test against, if any (`TEST_DATABASE_URL`, without a
/// database name, e.g. `postgres://postgres@127.0.0.1:5432`).
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

async fn fresh_database() -> (String, TestDb) {
    match postgres_server() {
        Some(server) => {
            let server = server.trim_end_matches('/').to_owned();
            let name = format!("sm_test_{}", uuid_like());
            let admin_url = format!("{server}/postgres");
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL is set but PostgreSQL cannot be reached");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("cannot create the test database");
            (
                format!("{server}/{name}"),
                TestDb::Postgres { admin_url, name },
            )
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, TestDb::Sqlite(dir))
        }
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().r#gen();
    format!("{n:016x}")
}

/// The suite's requests stand for many shoppers but all come from 127.0.0.1: the
/// per-client rate and concurrency limits are raised out of the way (tests/api/fairness.rs
/// and signin.rs set them to test them).
pub fn many_clients(config: &mut Config) {
    config.sign_ins_per_minute = 100_000;
    config.registrations_per_minute = 100_000;
    config.mutations_per_minute = 100_000;
    config.expensive_queries_per_minute = 100_000;
    config.max_concurrent_expensive_per_client = 100_000;
}

/// Turns the response cache off. The suite's fixtures write rows straight into the tables,
/// past `domain::catalog_version::touch`, so a cached answer would outlive them; the tests
/// of the cache (`response_cache.rs`) turn it back on and write through the API.
pub fn without_response_cache(config: &mut Config) {
    config.response_cache = solidarity_market::config::Switch::Off;
}

/// The flags of [`many_clients`], for server processes.
pub const MANY_CLIENTS_FLAGS: [&str; 10] = [
    "--sign-ins-per-minute",
    "100000",
    "--registrations-per-minute",
    "100000",
    "--mutations-per-minute",
    "100000",
    "--expensive-queries-per-minute",
    "100000",
    "--max-concurrent-expensive-per-client",
    "100000",
];

/// The application over a fresh database.
pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    /// The database URL, for servers started on the same database.
    pub url: String,
    /// The configuration the app runs with.
    pub config: Config,
    statements: Arc<AtomicUsize>,
    /// The folder of the app's image store (removed with the app).
    pub images: Arc<tempfile::TempDir>,
    _db: TestDb,
}

impl TestApp {
    /// A migrated database with the reference data (regions, segments) and nothing else.
    pub async fn spawn() -> Self {
        Self::build(false, None).await
    }

    /// Like [`TestApp::spawn`], with the server's clock pinned at `now`: "today" is the
    /// date of `now` in the market's time zone.
    pub async fn spawn_at(now: chrono::DateTime<chrono::Utc>) -> Self {
        Self::build(false, Some(now)).await
    }

    /// A database filled with the demo catalog, as a new user gets on first start.
    pub async fn with_demo() -> Self {
        Self::build(true, None).await
    }

    /// Like [`TestApp::with_demo`], with a configuration changed by `customize`.
    pub async fn with_demo_and(customize: impl FnOnce(&mut Config)) -> Self {
        Self::build_with(true, None, customize).await
    }

    /// Like [`TestApp::spawn`], with a configuration changed by `customize` (limits…).
    pub async fn spawn_with(customize: impl FnOnce(&mut Config)) -> Self {
        Self::build_with(false, None, customize).await
    }

    async fn build(demo: bool, now: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        Self::build_with(demo, now, |_| {}).await
    }

    /// The application over the (empty) database at `url`, which the test owns, with a
    /// configuration changed by `customize`.
    pub async fn spawn_on(url: &str, customize: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_database(url);
        many_clients(&mut config);
        without_response_cache(&mut config);
        customize(&mut config);
        Self::assemble(config, TestDb::Owned).await
    }

    async fn build_with(
        demo: bool,
        now: Option<chrono::DateTime<chrono::Utc>>,
        customize: impl FnOnce(&mut Config),
    ) -> Self {
        static LOGGING: std::sync::Once = std::sync::Once::new();
        LOGGING.call_once(|| {
            if let Ok(filter) = std::env::var("RUST_LOG") {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_test_writer()
                    .try_init();
            }
        });
        let (url, guard) = fresh_database().await;
        let mut config = Config {
            seed_demo: demo,
            now_override: now,
            ..Config::for_database(url)
        };
        many_clients(&mut config);
        without_response_cache(&mut config);
        customize(&mut config);
        Self::assemble(config, guard).await
    }

    async fn assemble(mut config: Config, guard: TestDb) -> Self {
        let images = Arc::new(tempfile::tempdir().expect("image folder"));
        if config.image_store.is_none() {
            config.image_store = Some(images.path().display().to_string());
        }
        let prepared = solidarity_market::prepare_database(&config)
            .await
            .expect("prepare database");
        drop(prepared);
        // The server's own pool settings (timeouts from the configuration), 8 connections.
        let settings = db::PoolSettings {
            max_connections: 8,
            ..db::PoolSettings::from_config(&config)
        };
        let mut conn = db::connect_with(&config.database_url, settings)
            .await
            .expect("connect");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let log_sql = std::env::var_os("TEST_LOG_SQL").is_some();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::SeqCst);
            if log_sql {
                eprintln!("SQL: {}", info.statement.sql);
            }
        });
        Self {
            url: config.database_url.clone(),
            config: config.clone(),
            router: app(AppState::new(conn.clone(), config)),
            db: conn,
            statements,
            images,
            _db: guard,
        }
    }

    /// Sends an HTTP request through the router.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, header::HeaderMap, String) {
        send_to(&self.router, request).await
    }

    /// Runs a GraphQL operation as `token` (or anonymously) and returns the whole
    /// response body.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/graphql-response+json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let (_, _, text) = self
            .send(request.body(Body::from(body)).expect("request"))
            .await;
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    /// Runs a GraphQL operation anonymously.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    /// Runs an operation that must succeed, returning its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Counts the SQL statements run while `f` runs.
    pub async fn count_statements<F: std::future::Future>(&self, f: F) -> (usize, F::Output) {
        let before = self.statements.load(Ordering::SeqCst);
        let out = f.await;
        (self.statements.load(Ordering::SeqCst) - before, out)
    }

    /// Executes raw SQL (for tests that break the database on purpose).
    pub async fn execute_sql(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("sql");
    }
}

impl TestApp {
    /// Runs a GraphQL operation as a multipart request (the GraphQL multipart request
    /// specification) carrying `file` at the variable path `path` (e.g.
    /// `variables.input.file`), as `token` (or anonymously).
    pub async fn upload_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        path: &str,
        file: &[u8],
    ) -> Value {
        let request = multipart_request(token, query, variables, path, "photo.jpg", file, true);
        let (_, _, text) = self.send(request).await;
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }
}

/// A multipart `POST /graphql` (with `Apollo-Require-Preflight` when `preflight`).
pub fn multipart_request(
    token: Option<&str>,
    query: &str,
    variables: Value,
    path: &str,
    filename: &str,
    file: &[u8],
    preflight: bool,
) -> Request<Body> {
    const BOUNDARY: &str = "----solidarity-market-test-boundary";
    let operations = json!({ "query": query, "variables": variables }).to_string();
    let map = json!({ "0": [path] }).to_string();
    let mut body = Vec::new();
    for (name, value) in [("operations", operations), ("map", map)] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let mut request = Request::post("/graphql")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/graphql-response+json");
    if preflight {
        request = request.header("Apollo-Require-Preflight", "true");
    }
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body)).expect("request")
}

/// Runs a GraphQL operation on a router (for concurrent tests that share one app).
pub async fn graphql_on(
    router: Router,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let response = router
        .oneshot(request.body(Body::from(body)).expect("request"))
        .await
        .expect("router answers");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("JSON response")
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response:#}"))
}

/// The application served over real HTTP on a loopback port, for as long as it lives.
pub struct TestServer {
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestApp {
    /// Serves this app's router on 127.0.0.1 (a random port), in this process.
    pub async fn serve(&self) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = self.router.clone();
        let config = self.config.clone();
        let task = tokio::spawn(async move {
            let _ =
                solidarity_market::server::serve(listener, router, &config, std::future::pending())
                    .await;
        });
        TestServer {
            base_url: format!("http://{addr}"),
            task,
        }
    }

    /// Starts the real `solidarity-market` binary on this app's database, as a separate
    /// server process (stopped when the returned guard is dropped).
    pub async fn spawn_process(&self) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"))
            .args([
                "serve",
                "--seed-demo",
                "false",
                "--database-max-connections",
                "8",
            ])
            .args(["--database-url", &self.url])
            .args(["--bind-addr", &format!("127.0.0.1:{port}")])
            .args(["--log-level", "warn"])
            .args(MANY_CLIENTS_FLAGS)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the server binary");
        let server = ServerProcess {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client
                .get(format!("{}/health", server.base_url))
                .send()
                .await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server process did not become ready");
    }
}

/// A server process started by a test.
pub struct ServerProcess {
    pub base_url: String,
    child: std::process::Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a GraphQL operation over HTTP against `base_url`.
pub async fn graphql_http(
    client: &reqwest::Client,
    base_url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{base_url}/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("HTTP request");
    response.json().await.expect("JSON response")
}

/// Runs a GraphQL operation on a router as if it came from `peer` (the connection's
/// address), with extra headers (e.g. `X-Forwarded-For`); returns the status and the body.
pub async fn graphql_from(
    router: Router,
    peer: &str,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> (StatusCode, header::HeaderMap, Value) {
    let ip: std::net::IpAddr = peer.parse().expect("an IP address");
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .expect("request");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            ip, 40_000,
        )));
    let response = router.oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, headers, body)
}

/// A write lock held by another connection (another server instance, an import…): on
/// SQLite the database's write lock (`BEGIN IMMEDIATE`), on PostgreSQL an `EXCLUSIVE`
/// lock on one table; readers go on, writers wait until [`TableLock::release`].
pub struct TableLock {
    txn: sea_orm::DatabaseTransaction,
    _db: DatabaseConnection,
}

impl TableLock {
    pub async fn take(app: &TestApp, table: &str) -> Self {
        let conn = db::connect(&app.url, 1).await.expect("connect");
        let txn = db::begin_write(&conn).await.expect("begin");
        if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            txn.execute_unprepared(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))
                .await
                .expect("lock");
        }
        Self { txn, _db: conn }
    }

    pub async fn release(self) {
        self.txn.rollback().await.expect("rollback");
    }
}

/// Sends an HTTP request through `router`: the status, the headers and the body as text.
pub async fn send_to(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, header::HeaderMap, String) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
