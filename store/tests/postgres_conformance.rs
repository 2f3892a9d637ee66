//! The store conformance suite against [`PostgresStore`](argus_store::postgres::PostgresStore), each check
//! on a database of its own (`argus_test_<uuid>` on the server named by `ARGUS_TEST_POSTGRES_URL`, dropped
//! afterwards). Without that variable every check prints `skipping:` and returns, unless
//! `ARGUS_REQUIRE_SERVICES=1`, which makes it fail.

mod support;

// The factory expression runs at the top of each generated test: without a server it returns from the
// test before the check starts.
argus_store::store_conformance_tests!(match support::postgres::fresh_postgres_store().await {
    Some(fixture) => std::future::ready(fixture),
    None => return,
});
