//! Every example payload GitHub publishes for the handled events (octokit/webhooks'
//! `payload-examples/api.github.com/<event>/*.json`, in the shared corpus) parses into the variant its
//! folder names, with spot checks on the facts Argus acts on.
//!
//! The corpus lives outside the repository: `$ARGUS_CORPUS`, or `../shared/corpus` beside the workspace.
//! When it is absent the tests say so and pass without checking anything.

use argus_github::{Parsed, parse_event, repository_full_name, signature_header, verify_signature};
use argus_vocabulary::GithubEventKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const EXAMPLES: &str = "github/octokit-webhooks/payload-examples/api.github.com";

fn corpus_dir() -> PathBuf {
    match std::env::var_os("ARGUS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    }
}

/// `(event folder, file name) -> body` for every example, or `None` (after saying why) without a corpus.
fn examples() -> Option<BTreeMap<(String, String), Vec<u8>>> {
    let root = corpus_dir().join(EXAMPLES);
    if !root.is_dir() {
        eprintln!("skipping: no github payload corpus at {} (set ARGUS_CORPUS)", root.display());
        return None;
    }
    let mut examples = BTreeMap::new();
    let mut folders: Vec<_> =
        std::fs::read_dir(&root).expect("read corpus").map(|entry| entry.expect("entry").path()).collect();
    folders.sort();
    for folder in folders.into_iter().filter(|path| path.is_dir()) {
        let event = folder.file_name().expect("folder name").to_string_lossy().into_owned();
        for file in std::fs::read_dir(&folder).expect("read event folder") {
            let path = file.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let name = path.file_name().expect("file name").to_string_lossy().into_owned();
                examples.insert((event.clone(), name), std::fs::read(&path).expect("read example"));
            }
        }
    }
    Some(examples)
}

fn parsed(examples: &BTreeMap<(String, String), Vec<u8>>, event: &str, file: &str) -> GithubEventKind {
    let body = examples.get(&(event.to_owned(), file.to_owned())).unwrap_or_else(|| panic!("{event}/{file}"));
    match parse_event(event, body) {
        Ok(Parsed::Event(kind)) => kind,
        other => panic!("{event}/{file}: {other:?}"),
    }
}

#[test]
fn every_example_parses_into_the_variant_its_folder_names() {
    let Some(examples) = examples() else { return };
    let mut per_event: BTreeMap<&str, usize> = BTreeMap::new();
    for ((event, file), body) in &examples {
        let kind = match parse_event(event, body) {
            Ok(Parsed::Event(kind)) => kind,
            other => panic!("{event}/{file} did not parse: {other:?}"),
        };
        assert_eq!(kind.event_name(), event, "{event}/{file} parsed as {}", kind.event_name());
        *per_event.entry(kind.event_name()).or_default() += 1;
    }
    // The folders of the pinned corpus (octokit/webhooks@3a58428): all seven handled events, 64 files.
    assert_eq!(
        per_event.keys().copied().collect::<Vec<_>>(),
        ["check_run", "check_suite", "ping", "pull_request", "push", "workflow_job", "workflow_run"]
    );
    assert_eq!(per_event.values().sum::<usize>(), examples.len());
    assert!(examples.len() >= 64, "expected at least 64 examples, found {}", examples.len());
}

#[test]
fn every_example_names_its_repository_except_organisation_pings() {
    let Some(examples) = examples() else { return };
    for ((event, file), body) in &examples {
        let repository = repository_full_name(body);
        if (event.as_str(), file.as_str()) == ("ping", "with-organization.payload.json") {
            assert_eq!(repository, None, "an organisation hook's ping has no repository");
        } else {
            let repository = repository.unwrap_or_else(|| panic!("{event}/{file} names no repository"));
            assert!(repository.contains('/'), "{event}/{file}: {repository}");
        }
    }
}

#[test]
fn a_tag_deletion_push_is_a_deletion_without_commits() {
    let Some(examples) = examples() else { return };
    for file in ["payload.json", "1.payload.json", "with-installation.payload.json"] {
        let GithubEventKind::Push(push) = parsed(&examples, "push", file) else { panic!("push/{file}") };
        assert!(push.deleted && push.is_deletion(), "push/{file}");
        assert_eq!(push.after, argus_vocabulary::github::NULL_SHA);
        assert_eq!(push.git_ref, "refs/tags/simple-tag");
        assert!(push.commits.is_empty() && push.head_commit.is_none());
        assert!(push.commits_to_record().is_empty());
        assert_eq!(push.branch(), None, "a tag is not a branch");
    }
}

#[test]
fn a_new_branch_push_carries_its_commit_and_files() {
    let Some(examples) = examples() else { return };
    let GithubEventKind::Push(push) = parsed(&examples, "push", "with-new-branch.payload.json") else {
        panic!("push")
    };
    assert!(!push.is_deletion());
    assert_eq!(push.branch(), Some("master"));
    let commits = push.commits_to_record();
    assert_eq!(commits.len(), 1, "the head commit is the pushed one, recorded once");
    assert_eq!(commits[0].sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(commits[0].changed_files(), ["README.md"]);
}

#[test]
fn pull_request_synchronize_carries_the_head_sha() {
    let Some(examples) = examples() else { return };
    let GithubEventKind::PullRequest(pull) = parsed(&examples, "pull_request", "synchronize.payload.json")
    else {
        panic!("pull_request")
    };
    assert_eq!(pull.action, "synchronize");
    assert!(pull.sets_head());
    assert_eq!((pull.number, pull.head_ref.as_str(), pull.base_ref.as_str()), (2, "changes", "master"));
    assert_eq!(pull.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");

    let GithubEventKind::PullRequest(labeled) = parsed(&examples, "pull_request", "labeled.payload.json")
    else {
        panic!("pull_request")
    };
    assert!(!labeled.sets_head(), "labelling does not move the head");
    // A pull request opened with a null body still parses (the body is not read).
    assert!(matches!(
        parsed(&examples, "pull_request", "opened.with-null-body.json"),
        GithubEventKind::PullRequest(_)
    ));
}

#[test]
fn completed_workflow_runs_and_jobs_have_a_conclusion() {
    let Some(examples) = examples() else { return };
    let GithubEventKind::WorkflowRun(run) = parsed(&examples, "workflow_run", "completed.payload.json")
    else {
        panic!("workflow_run")
    };
    assert_eq!((run.status.as_str(), run.conclusion.as_deref()), ("completed", Some("success")));
    assert_eq!((run.id, run.run_attempt), (289_782_451, 1));
    assert_eq!(run.name, None, "the example's workflow name is empty");
    assert_eq!(run.html_url.as_deref(), Some("https://github.com/octo-org/octo-repo/actions/runs/289782451"));

    let GithubEventKind::WorkflowRun(requested) = parsed(&examples, "workflow_run", "requested.payload.json")
    else {
        panic!("workflow_run")
    };
    assert_eq!((requested.status.as_str(), requested.conclusion), ("queued", None));

    let GithubEventKind::WorkflowJob(job) =
        parsed(&examples, "workflow_job", "completed.failure.with-organization.payload.json")
    else {
        panic!("workflow_job")
    };
    assert_eq!((job.status.as_str(), job.conclusion.as_deref()), ("completed", Some("failure")));
    assert_eq!((job.id, job.run_id, job.name.as_str()), (289_782_451, 2_202_229_078, "linters"));
    // Ids repeat across examples: the job above shares its id with the workflow run example.
    assert_eq!(job.id, run.id);
}

#[test]
fn check_runs_and_suites_carry_sha_and_conclusion() {
    let Some(examples) = examples() else { return };
    let GithubEventKind::CheckRun(check) = parsed(&examples, "check_run", "completed.1.payload.json") else {
        panic!("check_run")
    };
    assert_eq!(check.name, "Octocoders-linter");
    assert_eq!(check.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(check.conclusion.as_deref(), Some("failure"));
    let GithubEventKind::CheckRun(created) = parsed(&examples, "check_run", "created.payload.json") else {
        panic!("check_run")
    };
    assert_eq!((created.status.as_str(), created.conclusion), ("queued", None));

    let GithubEventKind::CheckSuite(suite) = parsed(&examples, "check_suite", "completed.payload.json")
    else {
        panic!("check_suite")
    };
    assert_eq!((suite.status.as_deref(), suite.conclusion.as_deref()), (Some("completed"), Some("success")));
    assert_eq!(suite.head_branch.as_deref(), Some("changes"));
}

#[test]
fn pings_carry_the_hook_id() {
    let Some(examples) = examples() else { return };
    for file in ["payload.json", "with-app_id.payload.json", "with-organization.payload.json"] {
        let GithubEventKind::Ping(ping) = parsed(&examples, "ping", file) else { panic!("ping/{file}") };
        assert_eq!(ping.hook_id, Some(109_948_940), "ping/{file}");
        assert!(ping.zen.is_some());
    }
}

#[test]
fn every_example_verifies_once_signed_and_fails_once_changed() {
    let Some(examples) = examples() else { return };
    let secret = b"corpus test secret";
    for ((event, file), body) in &examples {
        let header = signature_header(secret, body).expect("hmac takes any key");
        assert_eq!(verify_signature(secret, body, Some(&header)), Ok(()), "{event}/{file}");
        let mut tampered = body.clone();
        tampered.push(b'\n');
        assert!(verify_signature(secret, &tampered, Some(&header)).is_err(), "{event}/{file}");
    }
}
