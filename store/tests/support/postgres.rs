//! The Postgres side of the test support: the server URL from the environment (or a skip), and a fresh
//! database per test that is dropped when its guard is.

use argus_store::{
    Store,
    conformance::StoreFixture,
    postgres::{PostgresConfig, PostgresStore},
};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;

/// The variable holding the server's URL (written by `data-layer/local/up.sh` into its env.sh).
const URL_VARIABLE: &str = "ARGUS_TEST_POSTGRES_URL";

/// The admin URL of the test server. Unset: a panic when `ARGUS_REQUIRE_SERVICES=1`, otherwise a
/// `skipping:` line on stderr and `None`, so `cargo test` without servers still passes elsewhere.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("ARGUS_REQUIRE_SERVICES").as_deref() == Ok("1") => panic!(
            "{URL_VARIABLE} is not set but ARGUS_REQUIRE_SERVICES=1: run data-layer/local/up.sh and source \
             /tmp/argus-services/env.sh"
        ),
        _ => {
            eprintln!(
                "skipping: {URL_VARIABLE} is not set (run data-layer/local/up.sh and source \
                 /tmp/argus-services/env.sh to run the postgres tests)"
            );
            None
        }
    }
}

/// `url` with its database replaced by `database` (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |index| authority_start + index);
    let mut url = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A database created for one test (`argus_test_<uuid>`), dropped (with `FORCE`, ending any connection
/// still open) when the guard is dropped.
pub struct TestDatabase {
    /// The database's name.
    pub name: String,
    /// A URL of the database.
    pub url: String,
    server_url: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database on the server at `server_url`.
    pub async fn create(server_url: &str) -> TestDatabase {
        let name = format!("argus_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(server_url).await.expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        admin.close().await.expect("close admin connection");
        TestDatabase { url: with_database(server_url, &name), name, server_url: server_url.to_owned() }
    }

    /// Settings for an adapter on this database: small pool, defaults otherwise.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            max_connections: 4,
            min_connections: 0,
            ..PostgresConfig::new(SecretString::from(self.url.clone()))
        }
    }

    /// A plain connection to this database, bypassing the adapter.
    pub async fn raw_connection(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.expect("raw connection")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on a future: use a thread of its own.
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        });
        match dropping.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("warning: test database {} was not dropped: {error}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// A conformance fixture: the adapter on a fresh database, which is dropped after the store.
pub struct PostgresFixture {
    /// The adapter under test.
    pub store: Arc<dyn Store>,
    /// The database behind it.
    pub database: TestDatabase,
}

impl StoreFixture for PostgresFixture {
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

/// A fresh adapter on a fresh database; `None` (after a `skipping:` line) when no server is configured.
pub async fn fresh_postgres_store() -> Option<PostgresFixture> {
    let database = TestDatabase::create(&server_url()?).await;
    let store = PostgresStore::connect(&database.config()).await.expect("connect the postgres store");
    Some(PostgresFixture { store: Arc::new(store), database })
}
