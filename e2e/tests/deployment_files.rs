//! `data-layer/` and the `Dockerfile` agree with the code: the topic table of `data-layer/scripts/create-topics`
//! (and of `data-layer/README.md`) is `Topic::ALL` with its default partitions; every `ARGUS_*` variable the
//! compose file, the Kubernetes manifests and the Dockerfile set is accepted by `Config::load` and, taken
//! together, configures the distributed profile; every `argus` command they run parses with the CLI, and
//! together they run the API edge and every worker role. Every worker is probed where the code serves its
//! probes: the compose health checks and the Kubernetes httpGet probes use the port of `worker.health_addr`
//! as set by [`WORKER_HEALTH_ADDR_ENV`] (itself the code's default port), `/ready` and `/health`.
//!
//! The files are read as text (no YAML parser): the checks look only at the simple shapes these files use
//! (`ARGUS_X: value` lines, inline JSON-style arrays of arguments).

use argus_brain::cli::{Cli, Command};
use argus_brain::config::{Config, DEFAULT_WORKER_HEALTH_PORT, Profile, WORKER_HEALTH_ADDR_ENV};
use argus_vocabulary::Topic;
use argus_workers::Role;
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo_file(relative: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {relative}: {error}"));
    (path, text)
}

/// `${NAME:-default}` → `default` (compose interpolation), so values can be loaded.
fn interpolate_defaults(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let inner = &rest[start + 2..start + end];
        out.push_str(inner.split_once(":-").map_or("", |(_, default)| default));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every `ARGUS_NAME: value` (YAML) line of `text`, quotes removed.
fn yaml_argus_variables(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(':')?;
            let name = name.trim();
            let is_variable = name.starts_with("ARGUS_")
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            is_variable.then(|| (name.to_owned(), interpolate_defaults(value.trim().trim_matches('"'))))
        })
        .collect()
}

/// The inline array after `key:` on a line (`command: ["worker", "healer"]`), if there is one.
fn inline_array(line: &str, key: &str) -> Option<Vec<String>> {
    let (_, rest) = line.split_once(&format!("{key}:"))?;
    let rest = rest.trim();
    if !rest.starts_with('[') {
        return None;
    }
    let end = rest.rfind(']')?;
    let parsed: Vec<String> = serde_json::from_str(&rest[..=end])
        .unwrap_or_else(|error| panic!("not a json-style array in {line:?}: {error}"));
    Some(parsed)
}

/// Loads `variables` as the whole environment and checks they configure the distributed profile.
fn assert_configures_the_distributed_profile(file: &str, variables: &BTreeMap<String, String>) {
    let config = Config::load(None, variables)
        .unwrap_or_else(|error| panic!("{file}: its ARGUS_* variables do not load: {error}"));
    assert_eq!(config.profile, Profile::Distributed, "{file}");
    config.distributed_sections().unwrap_or_else(|error| panic!("{file}: {error}"));
}

/// The port `argus worker` serves its probes on under `variables`: they must set [`WORKER_HEALTH_ADDR_ENV`]
/// explicitly, to the code's default port.
fn worker_probe_port(file: &str, variables: &BTreeMap<String, String>) -> u16 {
    assert!(variables.contains_key(WORKER_HEALTH_ADDR_ENV), "{file} does not set {WORKER_HEALTH_ADDR_ENV}");
    let config = Config::load(None, variables).unwrap_or_else(|error| panic!("{file}: {error}"));
    let port = config.worker.health_addr.port();
    assert_eq!(
        port, DEFAULT_WORKER_HEALTH_PORT,
        "{file}: the worker probe port differs from the code's default"
    );
    assert!(config.worker.health_addr.ip().is_unspecified(), "{file}: probes must be reachable from outside");
    port
}

/// The value of `key` in a YAML flow mapping on `line` (`{ path: /ready, port: probes }` → `/ready` for
/// `path`), if the line has one.
fn flow_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("{key}:");
    let start = line
        .match_indices(&needle)
        .find(|(at, _)| *at == 0 || matches!(line.as_bytes()[at - 1], b' ' | b'{' | b','))
        .map(|(at, _)| at + needle.len())?;
    let rest = line[start..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Parses an `argus` command line and says which process it runs.
fn parse_argus(file: &str, args: &[String]) -> Command {
    let argv = std::iter::once("argus".to_owned()).chain(args.iter().cloned());
    Cli::try_parse_from(argv)
        .unwrap_or_else(|error| panic!("{file}: `argus {}` does not parse: {error}", args.join(" ")))
        .command
}

/// What the deployment runs: the API edge and each worker role.
#[derive(Debug, Default)]
struct Processes {
    api_only_edge: bool,
    roles: BTreeSet<&'static str>,
    healthcheck: bool,
}

impl Processes {
    fn record(&mut self, command: Command) {
        match command {
            Command::Serve(args) => {
                assert!(args.api_only, "the deployment's serve runs only the http edge");
                assert_eq!(args.config.profile, Some(Profile::Distributed));
                self.api_only_edge = true;
            }
            Command::Worker(args) => {
                self.roles.insert(args.role.as_str());
            }
            Command::Healthcheck(_) => {
                self.healthcheck = true;
            }
            other => panic!("unexpected command in a deployment file: {other:?}"),
        }
    }

    fn assert_complete(&self, file: &str) {
        assert!(self.api_only_edge, "{file} runs no `serve --profile distributed --api-only`");
        let every_role: BTreeSet<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        assert_eq!(self.roles, every_role, "{file} must run every worker role");
    }
}

#[test]
fn create_topics_table_matches_the_vocabulary() {
    let (_, script) = repo_file("data-layer/scripts/create-topics");
    let table: BTreeMap<String, u32> = script
        .lines()
        .filter_map(|line| {
            let row = line.trim().strip_prefix('"')?.strip_suffix('"')?;
            let mut fields = row.split_whitespace();
            let (topic, partitions) = (fields.next()?, fields.next()?.parse().ok()?);
            Some((topic.to_owned(), partitions))
        })
        .collect();
    let expected: BTreeMap<String, u32> =
        Topic::ALL.iter().map(|topic| (topic.name().to_owned(), topic.default_partitions())).collect();
    assert_eq!(table, expected);
}

#[test]
fn data_layer_readme_topic_table_matches_the_vocabulary() {
    let (_, readme) = repo_file("data-layer/README.md");
    let table: BTreeMap<String, u32> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let topic = cells.get(1)?.strip_prefix("`argus.")?.strip_suffix('`')?;
            Some((format!("argus.{topic}"), cells.get(3)?.parse().ok()?))
        })
        .collect();
    let expected: BTreeMap<String, u32> =
        Topic::ALL.iter().map(|topic| (topic.name().to_owned(), topic.default_partitions())).collect();
    assert_eq!(table, expected);
}

#[test]
fn compose_file_configures_and_runs_the_distributed_profile() {
    let file = "data-layer/compose/docker-compose.yml";
    let (_, compose) = repo_file(file);
    let variables = yaml_argus_variables(&compose);
    assert_configures_the_distributed_profile(file, &variables);
    let worker_port = worker_probe_port(file, &variables);

    // Services that merge the argus anchor (`<<: *argus`) run the image's `argus` entrypoint: their
    // `command` is an argus command line and their health check runs `argus healthcheck`.
    let mut argus_services = BTreeSet::new();
    let mut commands: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut health_checks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut service: Option<String> = None;
    for line in compose.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && line.trim_end().ends_with(':') && !line.trim().starts_with('#') {
            service = Some(line.trim().trim_end_matches(':').to_owned());
        }
        let Some(name) = &service else { continue };
        if line.trim() == "<<: *argus" {
            argus_services.insert(name.clone());
        }
        if let Some(args) = inline_array(line, "command") {
            commands.insert(name.clone(), args);
        }
        if let Some(test) = inline_array(line, "test") {
            health_checks.insert(name.clone(), test);
        }
    }
    let mut processes = Processes::default();
    assert!(!argus_services.is_empty(), "no service uses the argus image");
    for name in &argus_services {
        let args = commands.get(name).unwrap_or_else(|| panic!("{file}: {name} has no command"));
        let command = parse_argus(file, args);
        // Each argus service is health-checked with `argus healthcheck` (the slim image has no curl), on
        // the readiness endpoint of the listener that process serves.
        let check = health_checks.get(name).unwrap_or_else(|| panic!("{file}: {name} has no health check"));
        assert_eq!(check.get(..2), Some(&["CMD".to_owned(), "argus".to_owned()][..]), "{name}: {check:?}");
        let Command::Healthcheck(health_args) = parse_argus(file, &check[2..]) else {
            panic!("{file}: {name}'s health check is not `argus healthcheck`: {check:?}")
        };
        let expected_url = match &command {
            Command::Worker(_) => format!("http://127.0.0.1:{worker_port}/ready"),
            _ => "http://127.0.0.1:8080/ready".to_owned(),
        };
        assert_eq!(health_args.url, expected_url, "{file}: {name}");
        processes.record(command);
        processes.record(Command::Healthcheck(health_args));
    }
    processes.assert_complete(file);
    assert!(processes.healthcheck, "the compose services should be health-checked with `argus healthcheck`");
}

#[test]
fn kubernetes_manifests_configure_and_run_the_distributed_profile() {
    let mut variables = BTreeMap::new();
    let mut processes = Processes::default();
    let mut probed_workers = BTreeSet::new();
    let mut worker_probes = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-layer/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read data-layer/kubernetes")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read a manifest");
        let file = path.display().to_string();
        for (name, value) in yaml_argus_variables(&text) {
            let single = BTreeMap::from([(name.clone(), value.clone())]);
            // Each variable alone must be a known key (a section alone may lack its required url).
            if let Err(error) = Config::load(None, &single) {
                let message = error.to_string();
                assert!(
                    !message.contains("unknown field"),
                    "{file}: {name} is not a configuration key: {message}"
                );
            }
            variables.insert(name, value);
        }
        // Argus containers are the ones on the argus image; their `args` are argus command lines.
        let mut argus_container = false;
        for line in text.lines() {
            if line.trim_start().starts_with("image:") {
                argus_container = line.contains("argus:");
            }
            if argus_container && let Some(args) = inline_array(line, "args") {
                processes.record(parse_argus(&file, &args));
            }
        }
        for container in worker_containers(&text) {
            probed_workers.insert(container.role.clone());
            worker_probes.push((file.clone(), container));
        }
    }
    assert_configures_the_distributed_profile("data-layer/kubernetes (config + secrets)", &variables);
    processes.assert_complete("data-layer/kubernetes");

    // Every worker container exposes the probe port of the config map's ARGUS_WORKER__HEALTH_ADDR under a
    // name, and its liveness and readiness probes GET /health and /ready on that named port.
    let worker_port = worker_probe_port("data-layer/kubernetes", &variables);
    let every_role: BTreeSet<String> = Role::ALL.iter().map(|role| role.as_str().to_owned()).collect();
    assert_eq!(probed_workers, every_role, "every worker role has a container with probes");
    for (file, container) in worker_probes {
        let role = &container.role;
        let (port_name, port) = container
            .port
            .clone()
            .unwrap_or_else(|| panic!("{file}: the {role} container has no named port"));
        assert_eq!(port, worker_port, "{file}: the {role} container's port {port_name}");
        for (probe, path) in [("livenessProbe", "/health"), ("readinessProbe", "/ready")] {
            let (probe_path, probe_port) = container
                .probes
                .get(probe)
                .unwrap_or_else(|| panic!("{file}: the {role} container has no {probe}"));
            assert_eq!(probe_path, path, "{file}: {role} {probe}");
            assert_eq!(probe_port, &port_name, "{file}: {role} {probe} must use the named port");
        }
    }
}

/// What a worker container of a manifest declares for its probes.
#[derive(Debug)]
struct WorkerContainer {
    /// The role of its `args: ["worker", <role>]`.
    role: String,
    /// Its named container port (`ports: [{ name: probes, containerPort: 8081 }]`).
    port: Option<(String, u16)>,
    /// Each `…Probe: { httpGet: { path, port } }` by probe kind.
    probes: BTreeMap<String, (String, String)>,
}

/// The worker containers of a manifest's text: a container starts at its `- name:` line.
fn worker_containers(text: &str) -> Vec<WorkerContainer> {
    let mut containers = Vec::new();
    let mut current: Option<WorkerContainer> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("- name:") || trimmed.starts_with("---") {
            containers.extend(current.take());
        }
        if let Some(args) = inline_array(line, "args")
            && let [command, role] = args.as_slice()
            && command == "worker"
        {
            current = Some(WorkerContainer { role: role.clone(), port: None, probes: BTreeMap::new() });
        }
        let Some(container) = current.as_mut() else { continue };
        if trimmed.starts_with("ports:") {
            let name = flow_value(line, "name").map(str::to_owned);
            let port = flow_value(line, "containerPort").and_then(|port| port.parse().ok());
            if let (Some(name), Some(port)) = (name, port) {
                container.port = Some((name, port));
            }
        }
        if let Some((kind, rest)) = trimmed.split_once(':')
            && kind.ends_with("Probe")
            && rest.contains("httpGet")
        {
            let path = flow_value(rest, "path").unwrap_or_default().to_owned();
            let port = flow_value(rest, "port").unwrap_or_default().to_owned();
            container.probes.insert(kind.to_owned(), (path, port));
        }
    }
    containers.extend(current);
    containers
}

#[test]
fn flow_values_are_read_by_key() {
    let line = "livenessProbe: { httpGet: { path: /health, port: probes }, periodSeconds: 10 }";
    assert_eq!(flow_value(line, "path"), Some("/health"));
    assert_eq!(flow_value(line, "port"), Some("probes"));
    assert_eq!(flow_value(line, "periodSeconds"), Some("10"));
    assert_eq!(flow_value("ports: [{ name: probes, containerPort: 8081 }]", "port"), None);
    assert_eq!(flow_value("ports: [{ name: probes, containerPort: 8081 }]", "containerPort"), Some("8081"));
}

#[test]
fn dockerfile_builds_the_distributed_profile_and_its_environment_loads() {
    let (_, dockerfile) = repo_file("Dockerfile");
    assert!(
        dockerfile
            .lines()
            .any(|line| line.contains("cargo build") && line.contains("--features distributed")),
        "the image must be built with the distributed profile"
    );
    let variables: BTreeMap<String, String> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("ENV "))
        .flat_map(|assignments| assignments.split_whitespace())
        .filter_map(|assignment| assignment.split_once('='))
        .filter(|(name, _)| name.starts_with("ARGUS_"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    assert!(variables.contains_key("ARGUS_LISTEN"), "{variables:?}");
    let config = Config::load(None, &variables).expect("the image's environment loads");
    assert_eq!(config.listen.port(), 8080, "the port the compose file and the manifests expose");
    let exposed: Vec<u16> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace())
        .filter_map(|port| port.parse().ok())
        .collect();
    assert!(exposed.contains(&config.listen.port()), "the API port is exposed: {exposed:?}");
    assert!(exposed.contains(&DEFAULT_WORKER_HEALTH_PORT), "a worker's probe port is exposed: {exposed:?}");
}
