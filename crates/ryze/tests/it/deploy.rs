//! The deployment files under `deploy/` checked against the binary, since no container
//! engine runs here: every file parses (YAML, the Dockerfile line by line, `.env.example`);
//! every environment variable given to a ryze container is a documented setting
//! (`docs/configuration.md`'s table, or `RYZE__<SECTION>__<KEY>` of a setting in it); the
//! ports are the ones the binary listens on with that environment (read through
//! `ryze::settings`), listening on every interface; every probe path answers 200 on the
//! real API and bridge (their route tables, served in-process); and the image is the
//! production build (`--no-default-features`: no simulator).
//!
//! Each check returns its problems, so the tests at the bottom can feed it a broken copy
//! of a file and see it refused.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

/// Secrets a Kubernetes workload must take from a Secret, never from a literal or the
/// ConfigMap.
const SECRET_VARIABLES: [&str; 5] = [
    "RYZE_MASTER_KEY",
    "BRIDGE_TOKEN",
    "ENGINE_TOKEN",
    "METRICS_TOKEN",
    "DATABASE_URL",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative))
        .unwrap_or_else(|error| panic!("reading {relative}: {error}"))
}

// --- What the binary documents and does -----------------------------------------------

/// The settings table of `docs/configuration.md`: its setting keys and short variables.
struct DocumentedSettings {
    keys: BTreeSet<String>,
    variables: BTreeSet<String>,
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

impl DocumentedSettings {
    fn read() -> Self {
        let mut documented = DocumentedSettings {
            keys: BTreeSet::new(),
            variables: BTreeSet::new(),
        };
        for row in read("docs/configuration.md")
            .lines()
            .filter(|line| line.starts_with("| `"))
        {
            let cells: Vec<&str> = row.split('|').collect();
            documented.keys.extend(backticked(cells[1]));
            documented.variables.extend(backticked(cells[2]));
        }
        assert!(
            documented.keys.contains("database.url") && documented.variables.contains("RYZE_MODE"),
            "docs/configuration.md's settings table was not found"
        );
        documented
    }

    fn is_documented(&self, variable: &str) -> bool {
        self.variables.contains(variable)
            || variable.strip_prefix("RYZE__").is_some_and(|key| {
                self.keys
                    .contains(&key.to_ascii_lowercase().replace("__", "."))
            })
    }
}

/// What a ryze container runs (`api`, `bridge`, `serve`, `migrate`), with the environment
/// it is given (the image's `ENV` included), its declared ports and its probes.
#[derive(Debug, Clone)]
struct RyzeContainer {
    origin: String,
    subcommand: String,
    env: BTreeMap<String, String>,
    ports: Vec<u16>,
    probes: Vec<Probe>,
}

#[derive(Debug, Clone)]
struct Probe {
    origin: String,
    port: u16,
    path: String,
}

/// The ports a subcommand listens on with `env`, read through `ryze::settings`.
fn listening_ports(subcommand: &str, env: &BTreeMap<String, String>) -> Result<Vec<u16>, String> {
    let env: HashMap<String, String> = env.clone().into_iter().collect();
    let settings = ryze::settings::load_from(None, &env).map_err(|error| error.to_string())?;
    let mut addresses = Vec::new();
    if matches!(subcommand, "api" | "serve") {
        addresses.push(("RYZE_LISTEN", settings.listen.clone()));
    }
    if matches!(subcommand, "bridge" | "serve") {
        addresses.push(("BRIDGE_LISTEN", settings.bridge_service.listen.clone()));
    }
    addresses
        .into_iter()
        .map(|(name, address)| {
            let address: SocketAddr = address
                .parse()
                .map_err(|error| format!("{name}={address}: {error}"))?;
            if !address.ip().is_unspecified() {
                return Err(format!(
                    "{name}={address}: a container must listen on every interface (0.0.0.0)"
                ));
            }
            Ok(address.port())
        })
        .collect()
}

/// The ports of the binary's defaults: the API's, then the bridge's.
fn default_ports() -> (u16, u16) {
    let settings = ryze::settings::load_from(None, &HashMap::new()).unwrap();
    let port = |address: &str| address.parse::<SocketAddr>().unwrap().port();
    (
        port(&settings.listen),
        port(&settings.bridge_service.listen),
    )
}

/// Every problem of the containers: undocumented variables, ports and probes that are not
/// where the subcommand listens, listeners not on the binary's default ports.
fn container_problems(
    containers: &[RyzeContainer],
    documented: &DocumentedSettings,
) -> Vec<String> {
    let (api_port, bridge_port) = default_ports();
    let mut problems = Vec::new();
    for container in containers {
        let origin = &container.origin;
        for variable in container.env.keys() {
            if !documented.is_documented(variable) {
                problems.push(format!(
                    "{origin}: {variable} is not a setting documented in docs/configuration.md"
                ));
            }
        }
        if !["api", "bridge", "serve", "migrate"].contains(&container.subcommand.as_str()) {
            problems.push(format!(
                "{origin}: unexpected subcommand {:?}",
                container.subcommand
            ));
            continue;
        }
        let listening = match listening_ports(&container.subcommand, &container.env) {
            Ok(ports) => ports,
            Err(problem) => {
                problems.push(format!("{origin}: {problem}"));
                continue;
            }
        };
        for port in &listening {
            if ![api_port, bridge_port].contains(port) {
                problems.push(format!(
                    "{origin}: listens on {port}, not the binary's default port ({api_port} for the API, {bridge_port} for the bridge)"
                ));
            }
        }
        for port in &container.ports {
            if !listening.contains(port) {
                problems.push(format!(
                    "{origin}: declares port {port}, but `ryze {}` listens on {listening:?}",
                    container.subcommand
                ));
            }
        }
        for probe in &container.probes {
            if !listening.contains(&probe.port) {
                problems.push(format!(
                    "{}: probes port {}, but `ryze {}` listens on {listening:?}",
                    probe.origin, probe.port, container.subcommand
                ));
            }
        }
    }
    problems
}

/// GETs every probe path on the real API and bridge (`ryze serve`'s two servers over a
/// throwaway SQLite database): a probe on the API's default port must answer 200 there,
/// one on the bridge's port on the bridge.
async fn probe_problems(probes: &[Probe]) -> Vec<String> {
    let (api_port, bridge_port) = default_ports();
    let directory = tempfile::tempdir().unwrap();
    let env = HashMap::from([
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}", directory.path().join("ryze.db").display()),
        ),
        (
            "RYZE_KEY_FILE".to_owned(),
            directory.path().join("master.key").display().to_string(),
        ),
    ]);
    let mut settings = ryze::settings::load_from(None, &env).unwrap();
    settings.http.workers = 1;
    let api_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let bridge_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let bridge = format!("http://{}", bridge_listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        ryze::commands::serve_api_and_bridge(&settings, api_listener, bridge_listener).await
    });
    let client = reqwest::Client::new();
    super::support::split::wait_until_ready(&client, &api).await;
    super::support::split::wait_until_ready(&client, &bridge).await;

    let mut problems = Vec::new();
    for probe in probes {
        let base = if probe.port == api_port {
            &api
        } else if probe.port == bridge_port {
            &bridge
        } else {
            problems.push(format!(
                "{}: port {} is neither the API's ({api_port}) nor the bridge's ({bridge_port})",
                probe.origin, probe.port
            ));
            continue;
        };
        let status = client
            .get(format!("{base}{}", probe.path))
            .send()
            .await
            .map(|response| response.status().as_u16());
        if status.as_ref().ok() != Some(&200) {
            problems.push(format!(
                "{}: GET {} on port {} answered {status:?}, not 200",
                probe.origin, probe.path, probe.port
            ));
        }
    }
    server.abort();
    problems
}

/// `http://host:port/path` → (host, port, path).
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let url = url::Url::parse(url).ok()?;
    Some((
        url.host_str()?.to_owned(),
        url.port_or_known_default()?,
        url.path().to_owned(),
    ))
}

/// A probe given as `ryze healthcheck --url URL` (an exec-form command).
fn healthcheck_probe(origin: &str, command: &[String]) -> Result<Probe, String> {
    match command {
        [ryze, healthcheck, flag, url, ..]
            if ryze == "ryze" && healthcheck == "healthcheck" && flag == "--url" =>
        {
            let (_, port, path) =
                split_url(url).ok_or_else(|| format!("{origin}: {url} is not a URL"))?;
            Ok(Probe {
                origin: origin.to_owned(),
                port,
                path,
            })
        }
        _ => Err(format!(
            "{origin}: the health check is not `ryze healthcheck --url URL`: {command:?}"
        )),
    }
}

// --- The Dockerfile ------------------------------------------------------------------------

#[derive(Debug)]
struct Instruction {
    line: usize,
    keyword: String,
    arguments: String,
}

const DOCKERFILE_KEYWORDS: [&str; 17] = [
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// The Dockerfile's instructions: comments dropped, continued lines joined.
fn dockerfile_instructions(text: &str) -> Result<Vec<Instruction>, String> {
    let mut instructions = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (continued, content) = match trimmed.strip_suffix('\\') {
            Some(content) => (true, content.trim()),
            None => (false, trimmed),
        };
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(content);
        if continued {
            pending = Some((start, joined));
            continue;
        }
        let (keyword, arguments) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((&joined, ""));
        let keyword = keyword.to_ascii_uppercase();
        if !DOCKERFILE_KEYWORDS.contains(&keyword.as_str()) {
            return Err(format!("line {start}: unknown instruction {keyword}"));
        }
        instructions.push(Instruction {
            line: start,
            keyword,
            arguments: arguments.trim().to_owned(),
        });
    }
    if let Some((start, _)) = pending {
        return Err(format!("line {start}: the last instruction never ends"));
    }
    Ok(instructions)
}

/// `ENV A=1 B="2"` → its pairs.
fn env_pairs(arguments: &str) -> Result<Vec<(String, String)>, String> {
    arguments
        .split_whitespace()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.trim_matches('"').to_owned()))
                .ok_or_else(|| format!("ENV {pair}: use the NAME=value form"))
        })
        .collect()
}

fn exec_form(origin: &str, arguments: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(arguments)
        .map_err(|error| format!("{origin}: not an exec-form JSON array ({error}): {arguments}"))
}

/// The image as a container (`ENV`, `EXPOSE`, `HEALTHCHECK`, `CMD`) and the Dockerfile's
/// own problems: one multi-stage build of the production binary, a non-root user,
/// `ENTRYPOINT ["ryze"]`.
fn check_dockerfile(text: &str) -> (Option<RyzeContainer>, Vec<String>) {
    let instructions = match dockerfile_instructions(text) {
        Ok(instructions) => instructions,
        Err(problem) => return (None, vec![format!("deploy/Dockerfile: {problem}")]),
    };
    let mut problems = Vec::new();
    let at = |instruction: &Instruction| format!("deploy/Dockerfile line {}", instruction.line);
    let stages = instructions.iter().filter(|i| i.keyword == "FROM").count();
    if stages < 2 {
        problems.push(
            "deploy/Dockerfile: not a multi-stage build (a builder, then a runtime)".to_owned(),
        );
    }
    let builds: Vec<&Instruction> = instructions
        .iter()
        .filter(|i| i.keyword == "RUN" && i.arguments.contains("cargo build"))
        .collect();
    if builds.is_empty() {
        problems.push("deploy/Dockerfile: no `RUN cargo build`".to_owned());
    }
    for build in builds {
        let words: Vec<&str> = build.arguments.split_whitespace().collect();
        let has = |word: &str| words.contains(&word);
        if !(has("--no-default-features")
            && has("--release")
            && build.arguments.contains("-p ryze"))
            || has("--features")
            || has("--all-features")
            || has("-F")
        {
            problems.push(format!(
                "{}: the build is not the production build `cargo build --release -p ryze --no-default-features` (no simulator): {}",
                at(build),
                build.arguments
            ));
        }
    }
    let runtime_start = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap_or(0);
    let runtime = &instructions[runtime_start..];
    let mut container = RyzeContainer {
        origin: "deploy/Dockerfile".to_owned(),
        subcommand: String::new(),
        env: BTreeMap::new(),
        ports: Vec::new(),
        probes: Vec::new(),
    };
    let mut user = None;
    let mut entrypoint = None;
    for instruction in runtime {
        match instruction.keyword.as_str() {
            "ENV" => match env_pairs(&instruction.arguments) {
                Ok(pairs) => container.env.extend(pairs),
                Err(problem) => problems.push(format!("{}: {problem}", at(instruction))),
            },
            "EXPOSE" => {
                for port in instruction.arguments.split_whitespace() {
                    match port.trim_end_matches("/tcp").parse() {
                        Ok(port) => container.ports.push(port),
                        Err(_) => problems.push(format!("{}: bad port {port}", at(instruction))),
                    }
                }
            }
            "USER" => user = Some(instruction.arguments.clone()),
            "ENTRYPOINT" => entrypoint = Some(exec_form(&at(instruction), &instruction.arguments)),
            "CMD" => match exec_form(&at(instruction), &instruction.arguments) {
                Ok(command) => container.subcommand = command.first().cloned().unwrap_or_default(),
                Err(problem) => problems.push(problem),
            },
            "HEALTHCHECK" => {
                let command = instruction
                    .arguments
                    .split_once("CMD ")
                    .map(|(_, command)| exec_form(&at(instruction), command.trim()));
                match command {
                    Some(Ok(command)) => match healthcheck_probe(&at(instruction), &command) {
                        Ok(probe) => container.probes.push(probe),
                        Err(problem) => problems.push(problem),
                    },
                    Some(Err(problem)) => problems.push(problem),
                    None => problems.push(format!("{}: HEALTHCHECK without CMD", at(instruction))),
                }
            }
            _ => {}
        }
    }
    match user
        .as_deref()
        .map(|user| user.split(':').next().unwrap_or(user))
    {
        None | Some("root") | Some("0") => problems
            .push("deploy/Dockerfile: the runtime stage must switch to a non-root USER".to_owned()),
        Some(_) => {}
    }
    match entrypoint {
        Some(Ok(entrypoint)) if entrypoint == ["ryze"] => {}
        Some(Err(problem)) => problems.push(problem),
        _ => problems.push("deploy/Dockerfile: ENTRYPOINT must be [\"ryze\"]".to_owned()),
    }
    if container.probes.is_empty() {
        problems.push("deploy/Dockerfile: no HEALTHCHECK".to_owned());
    }
    let (api_port, bridge_port) = default_ports();
    let mut exposed = container.ports.clone();
    exposed.sort_unstable();
    if exposed != [api_port, bridge_port] {
        problems.push(format!(
            "deploy/Dockerfile: EXPOSE {exposed:?}, not the API's and the bridge's ports ({api_port}, {bridge_port})"
        ));
    }
    (Some(container), problems)
}

// --- .env.example and compose ----------------------------------------------------------------

/// `NAME=value` lines (comments and blank lines skipped).
fn env_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("deploy/.env.example line {}: not NAME=value", index + 1))?;
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(format!(
                    "deploy/.env.example line {}: bad name {name:?}",
                    index + 1
                ));
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The names of every `${NAME…}` in `text`.
fn interpolated_names(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Compose's interpolation of `${NAME}`, `${NAME:-default}`, `${NAME:?message}` (and
/// their forms without `:`) with the values of `.env.example`.
fn interpolate(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let expression = &rest[start + 2..start + end];
        let name_end = expression
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expression.len());
        let (name, modifier) = expression.split_at(name_end);
        let value = values.get(name).cloned().unwrap_or_default();
        let default = modifier
            .strip_prefix(":-")
            .or_else(|| modifier.strip_prefix('-'))
            .unwrap_or("");
        result.push_str(if value.is_empty() { default } else { &value });
        rest = &rest[start + end + 1..];
    }
    result.push_str(rest);
    result
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(value) => scalar(value)
            .map(|text| text.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// A compose `environment:` (a mapping or a list of `NAME=value`).
fn compose_environment(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        Some(Value::Mapping(mapping)) => mapping
            .iter()
            .filter_map(|(name, value)| Some((scalar(name)?, scalar(value).unwrap_or_default())))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar)
            .map(|item| match item.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (item, String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The ryze services of the compose file (those built from the Dockerfile or running a
/// `ryze` image) and the problems of compose and `.env.example` together: a variable
/// compose uses that `.env.example` lacks or the reverse, a ryze service with an
/// `env_file` (it would get Chatwoot's variables), service URLs that do not lead to the
/// service that serves them.
fn check_compose(
    compose: &str,
    env_example: &str,
    image_env: &BTreeMap<String, String>,
) -> (Vec<RyzeContainer>, Vec<String>) {
    let mut problems = Vec::new();
    let examples = env_file(env_example).unwrap_or_else(|problem| {
        problems.push(problem);
        BTreeMap::new()
    });
    let used = interpolated_names(compose);
    let listed: BTreeSet<String> = examples.keys().cloned().collect();
    for missing in used.difference(&listed) {
        problems.push(format!(
            "deploy/compose.yaml uses ${{{missing}}}, which deploy/.env.example does not list"
        ));
    }
    for unused in listed.difference(&used) {
        problems.push(format!(
            "deploy/.env.example lists {unused}, which deploy/compose.yaml never uses"
        ));
    }
    let document: Value = match serde_norway::from_str(&interpolate(compose, &examples)) {
        Ok(document) => document,
        Err(error) => {
            problems.push(format!("deploy/compose.yaml does not parse: {error}"));
            return (Vec::new(), problems);
        }
    };
    let Some(services) = document.get("services").and_then(Value::as_mapping) else {
        problems.push("deploy/compose.yaml has no services".to_owned());
        return (Vec::new(), problems);
    };
    let mut containers = BTreeMap::new();
    for (name, service) in services {
        let name = scalar(name).unwrap_or_default();
        let origin = format!("deploy/compose.yaml service {name}");
        let image = service.get("image").and_then(scalar).unwrap_or_default();
        if service.get("build").is_none() && !image.starts_with("ryze") {
            continue;
        }
        if service.get("env_file").is_some() {
            problems.push(format!("{origin}: give a ryze service its variables one by one in `environment`, not `env_file`"));
        }
        let mut env = image_env.clone();
        env.extend(compose_environment(service.get("environment")));
        let ports = strings(service.get("ports"))
            .iter()
            .chain(&strings(service.get("expose")))
            .filter_map(|port| {
                let container = port.rsplit(':').next()?.trim_end_matches("/tcp");
                container.parse().ok().or_else(|| {
                    problems.push(format!("{origin}: bad port {port}"));
                    None
                })
            })
            .collect();
        let mut probes = Vec::new();
        let healthcheck = service.get("healthcheck");
        let disabled = healthcheck
            .and_then(|check| check.get("disable"))
            .and_then(Value::as_bool)
            == Some(true);
        let subcommand = strings(service.get("command"))
            .first()
            .cloned()
            .unwrap_or_default();
        match healthcheck.and_then(|check| check.get("test")) {
            Some(test) => {
                let test = strings(Some(test));
                match test.split_first() {
                    Some((cmd, command)) if cmd == "CMD" => {
                        match healthcheck_probe(&format!("{origin} healthcheck"), command) {
                            Ok(probe) => probes.push(probe),
                            Err(problem) => problems.push(problem),
                        }
                    }
                    _ => problems.push(format!("{origin}: the healthcheck must be [\"CMD\", \"ryze\", \"healthcheck\", \"--url\", URL]")),
                }
            }
            None if disabled || subcommand == "migrate" => {
                if subcommand != "migrate" {
                    problems.push(format!(
                        "{origin}: only the one-shot `migrate` may go without a healthcheck"
                    ));
                }
            }
            // The image's HEALTHCHECK checks the API's port: a bridge needs its own.
            None => problems.push(format!("{origin}: no healthcheck of its own")),
        }
        containers.insert(
            name,
            RyzeContainer {
                origin,
                subcommand,
                env,
                ports,
                probes,
            },
        );
    }
    // URLs naming a compose service must reach the subcommand that serves them.
    for container in containers.values() {
        for (variable, expected) in [
            ("BRIDGE_URL", "bridge"),
            ("BRIDGE_PUBLIC_URL", "bridge"),
            ("API_URL", "api"),
        ] {
            let Some((host, port, _)) = container.env.get(variable).and_then(|url| split_url(url))
            else {
                continue;
            };
            let reaches = containers.get(&host).is_some_and(|target| {
                target.subcommand == expected
                    && listening_ports(expected, &target.env)
                        .is_ok_and(|ports| ports.contains(&port))
            });
            if !reaches {
                problems.push(format!(
                    "{}: {variable} (http://{host}:{port}) does not reach the service running `ryze {expected}`",
                    container.origin
                ));
            }
        }
    }
    (containers.into_values().collect(), problems)
}

// --- Kubernetes ----------------------------------------------------------------------------

fn yaml_documents(origin: &str, text: &str) -> Result<Vec<Value>, String> {
    serde_norway::Deserializer::from_str(text)
        .map(|document| {
            Value::deserialize(document)
                .map_err(|error| format!("{origin} does not parse: {error}"))
        })
        .filter(|document| !matches!(document, Ok(Value::Null)))
        .collect()
}

fn text_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(value, |value, key| value.get(*key))
        .and_then(Value::as_str)
}

/// The kustomize base: its resources (every YAML file beside it, each listed), its
/// workloads' containers, and its problems: secrets not from the Secret, a stored Secret,
/// probes or Services pointing at ports no container declares.
fn check_kubernetes(
    files: &BTreeMap<String, String>,
    image_env: &BTreeMap<String, String>,
) -> (Vec<RyzeContainer>, Vec<String>) {
    let mut problems = Vec::new();
    let Some(kustomization) = files.get("kustomization.yaml") else {
        return (
            Vec::new(),
            vec!["deploy/kubernetes has no kustomization.yaml".to_owned()],
        );
    };
    let kustomization: Value = match serde_norway::from_str(kustomization) {
        Ok(value) => value,
        Err(error) => {
            return (
                Vec::new(),
                vec![format!("kustomization.yaml does not parse: {error}")],
            )
        }
    };
    let resources = strings(kustomization.get("resources"));
    for name in files.keys().filter(|name| *name != "kustomization.yaml") {
        if !resources.contains(name) {
            problems.push(format!(
                "deploy/kubernetes/{name} is not among kustomization.yaml's resources"
            ));
        }
    }
    let mut objects = Vec::new();
    for resource in &resources {
        let origin = format!("deploy/kubernetes/{resource}");
        match files
            .get(resource)
            .map(|text| yaml_documents(&origin, text))
        {
            Some(Ok(documents)) => objects.extend(
                documents
                    .into_iter()
                    .map(|document| (origin.clone(), document)),
            ),
            Some(Err(problem)) => problems.push(problem),
            None => problems.push(format!(
                "kustomization.yaml lists {resource}, which does not exist"
            )),
        }
    }
    let kind = |object: &Value| text_at(object, &["kind"]).unwrap_or_default().to_owned();
    let name = |object: &Value| {
        text_at(object, &["metadata", "name"])
            .unwrap_or_default()
            .to_owned()
    };
    let config_maps: BTreeMap<String, BTreeMap<String, String>> = objects
        .iter()
        .filter(|(_, object)| kind(object) == "ConfigMap")
        .map(|(_, object)| (name(object), compose_environment(object.get("data"))))
        .collect();
    for (origin, object) in &objects {
        if kind(object) == "Secret" {
            problems.push(format!(
                "{origin}: a Secret with values; reference `ryze-secrets` instead"
            ));
        }
    }
    for (config_map, data) in &config_maps {
        for secret in SECRET_VARIABLES
            .iter()
            .filter(|secret| data.contains_key(**secret))
        {
            problems.push(format!(
                "ConfigMap {config_map}: {secret} is a secret; take it from a Secret"
            ));
        }
    }

    let mut containers = Vec::new();
    // Workload name → its pod labels and named ports.
    let mut workloads: Vec<(BTreeMap<String, String>, BTreeMap<String, u16>)> = Vec::new();
    for (origin, object) in &objects {
        if !["Deployment", "Job", "StatefulSet", "DaemonSet"].contains(&kind(object).as_str()) {
            continue;
        }
        let template = object.get("spec").and_then(|spec| spec.get("template"));
        let labels = compose_environment(
            template
                .and_then(|t| t.get("metadata"))
                .and_then(|m| m.get("labels")),
        );
        let pod = template.and_then(|t| t.get("spec"));
        let mut named_ports = BTreeMap::new();
        for container in pod
            .and_then(|pod| pod.get("containers"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let origin = format!(
                "{origin} {} {}/{}",
                kind(object),
                name(object),
                text_at(container, &["name"]).unwrap_or_default()
            );
            let mut env = image_env.clone();
            for source in container
                .get("envFrom")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                match text_at(source, &["configMapRef", "name"]) {
                    Some(config_map) => match config_maps.get(config_map) {
                        Some(data) => env.extend(data.clone()),
                        None => problems.push(format!("{origin}: envFrom names ConfigMap {config_map}, which the base does not have")),
                    },
                    None => problems.push(format!("{origin}: envFrom takes only ConfigMaps (secrets one by one with secretKeyRef)")),
                }
            }
            for variable in container
                .get("env")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let variable_name = text_at(variable, &["name"]).unwrap_or_default().to_owned();
                let from_secret =
                    text_at(variable, &["valueFrom", "secretKeyRef", "name"]).is_some();
                if SECRET_VARIABLES.contains(&variable_name.as_str()) != from_secret {
                    problems.push(format!(
                        "{origin}: {variable_name} must {}come from a Secret (secretKeyRef)",
                        if from_secret { "not " } else { "" }
                    ));
                }
                let value = match variable.get("value").and_then(scalar) {
                    Some(value) => value,
                    None => format!("from-{variable_name}"),
                };
                env.insert(variable_name, value);
            }
            let mut ports = Vec::new();
            for port in container
                .get("ports")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let number = port
                    .get("containerPort")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as u16;
                if let Some(port_name) = text_at(port, &["name"]) {
                    named_ports.insert(port_name.to_owned(), number);
                }
                ports.push(number);
            }
            let mut probes = Vec::new();
            for probe_kind in ["livenessProbe", "readinessProbe", "startupProbe"] {
                let Some(get) = container
                    .get(probe_kind)
                    .and_then(|probe| probe.get("httpGet"))
                else {
                    continue;
                };
                let port = match get.get("port") {
                    Some(Value::Number(number)) => number.as_u64().map(|port| port as u16),
                    Some(Value::String(port_name)) => named_ports.get(port_name).copied(),
                    _ => None,
                };
                match port {
                    Some(port) => probes.push(Probe {
                        origin: format!("{origin} {probe_kind}"),
                        port,
                        path: text_at(get, &["path"]).unwrap_or("/").to_owned(),
                    }),
                    None => problems.push(format!(
                        "{origin} {probe_kind}: its port is not a container port"
                    )),
                }
            }
            let subcommand = strings(container.get("args"))
                .first()
                .cloned()
                .unwrap_or_default();
            if matches!(subcommand.as_str(), "api" | "bridge")
                && !["livenessProbe", "readinessProbe"]
                    .iter()
                    .all(|probe| container.get(*probe).is_some())
            {
                problems.push(format!(
                    "{origin}: needs a livenessProbe and a readinessProbe"
                ));
            }
            containers.push(RyzeContainer {
                origin,
                subcommand,
                env,
                ports,
                probes,
            });
        }
        workloads.push((labels, named_ports));
    }
    // Services select a workload and target one of its ports.
    let mut service_ports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (origin, object) in objects
        .iter()
        .filter(|(_, object)| kind(object) == "Service")
    {
        let selector =
            compose_environment(object.get("spec").and_then(|spec| spec.get("selector")));
        let selected = workloads.iter().find(|(labels, _)| {
            !selector.is_empty()
                && selector
                    .iter()
                    .all(|(key, value)| labels.get(key) == Some(value))
        });
        let Some((_, named_ports)) = selected else {
            problems.push(format!(
                "{origin}: Service {} selects no workload of the base",
                name(object)
            ));
            continue;
        };
        for port in object
            .get("spec")
            .and_then(|spec| spec.get("ports"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let target = match port.get("targetPort").or_else(|| port.get("port")) {
                Some(Value::String(port_name)) => named_ports.get(port_name).copied(),
                Some(Value::Number(number)) => number
                    .as_u64()
                    .map(|port| port as u16)
                    .filter(|port| named_ports.values().any(|p| p == port)),
                _ => None,
            };
            if target.is_none() {
                problems.push(format!(
                    "{origin}: Service {} targets a port its workload does not declare",
                    name(object)
                ));
            }
            if let Some(port_name) = text_at(port, &["name"]) {
                service_ports
                    .entry(name(object))
                    .or_default()
                    .push(port_name.to_owned());
            }
        }
    }
    for (origin, object) in objects
        .iter()
        .filter(|(_, object)| kind(object) == "Ingress")
    {
        for rule in object
            .get("spec")
            .and_then(|spec| spec.get("rules"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for path in rule
                .get("http")
                .and_then(|http| http.get("paths"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let service = text_at(path, &["backend", "service", "name"]).unwrap_or_default();
                let port =
                    text_at(path, &["backend", "service", "port", "name"]).unwrap_or_default();
                if !service_ports
                    .get(service)
                    .is_some_and(|ports| ports.iter().any(|p| p == port))
                {
                    problems.push(format!("{origin}: Ingress backend {service}:{port} is not a Service port of the base"));
                }
            }
        }
    }
    (containers, problems)
}

// --- Reading deploy/ -------------------------------------------------------------------------

/// Every file under `deploy/`, by path relative to it.
fn deploy_files() -> BTreeMap<String, String> {
    fn walk(directory: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, files);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                files.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = repository().join("deploy");
    let mut files = BTreeMap::new();
    walk(&root, &root, &mut files);
    files
}

/// Every check over the files of `deploy/` (as `deploy_files` reads them): the containers
/// found and the problems.
fn check_deploy(files: &BTreeMap<String, String>) -> (Vec<RyzeContainer>, Vec<String>) {
    let mut problems = Vec::new();
    let mut containers = Vec::new();
    for (path, text) in files {
        let known = path == "Dockerfile"
            || path == ".env.example"
            || path == "compose.yaml"
            || path.ends_with(".md")
            || (path.starts_with("kubernetes/") && path.ends_with(".yaml"))
            // Grafana dashboards: deploy_dashboard.rs checks their metrics.
            || (path.starts_with("grafana/") && path.ends_with(".json"));
        if !known {
            problems.push(format!(
                "deploy/{path}: no check knows this kind of file; teach deploy.rs to parse it"
            ));
        }
        if path.ends_with(".yaml") {
            if let Err(problem) = yaml_documents(&format!("deploy/{path}"), text) {
                problems.push(problem);
            }
        }
    }
    let text = |path: &str| files.get(path).map(String::as_str).unwrap_or_default();
    let (image, dockerfile_problems) = check_dockerfile(text("Dockerfile"));
    problems.extend(dockerfile_problems);
    let image_env = image
        .as_ref()
        .map(|image| image.env.clone())
        .unwrap_or_default();
    containers.extend(image);

    // .env.example's values reach ryze only through compose's `environment`, checked there.
    let (compose, compose_problems) =
        check_compose(text("compose.yaml"), text(".env.example"), &image_env);
    if compose
        .iter()
        .map(|c| c.subcommand.as_str())
        .collect::<BTreeSet<_>>()
        != BTreeSet::from(["api", "bridge", "migrate"])
    {
        problems
            .push("deploy/compose.yaml: ryze must run as `api`, `bridge` and `migrate`".to_owned());
    }
    containers.extend(compose);
    problems.extend(compose_problems);

    let kubernetes: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(path, text)| {
            Some((path.strip_prefix("kubernetes/")?.to_owned(), text.clone()))
        })
        .collect();
    let (workloads, kubernetes_problems) = check_kubernetes(&kubernetes, &image_env);
    if workloads
        .iter()
        .map(|c| c.subcommand.as_str())
        .collect::<BTreeSet<_>>()
        != BTreeSet::from(["api", "bridge", "migrate"])
    {
        problems.push(
            "deploy/kubernetes: ryze must run as `api`, `bridge` and a `migrate` Job".to_owned(),
        );
    }
    containers.extend(workloads);
    problems.extend(kubernetes_problems);

    problems.extend(container_problems(&containers, &DocumentedSettings::read()));
    (containers, problems)
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "deploy/ has problems:\n{}",
        problems.join("\n")
    );
}

#[tokio::test]
async fn every_deploy_file_parses_and_matches_the_binary() {
    let (containers, problems) = check_deploy(&deploy_files());
    assert_no_problems(&problems);
    let probes: Vec<Probe> = containers.into_iter().flat_map(|c| c.probes).collect();
    // The Dockerfile's, compose's api and bridge, Kubernetes' two of each.
    assert!(probes.len() >= 7, "{probes:?}");
    assert_no_problems(&probe_problems(&probes).await);
}

/// `deploy/` with `replace` applied to one file.
fn deploy_with(path: &str, from: &str, to: &str) -> BTreeMap<String, String> {
    let mut files = deploy_files();
    let text = files.get_mut(path).unwrap();
    assert!(text.contains(from), "{path} has no {from:?}");
    *text = text.replacen(from, to, 1);
    files
}

fn assert_refused(files: &BTreeMap<String, String>, expected: &str) {
    let (_, problems) = check_deploy(files);
    assert!(
        problems.iter().any(|problem| problem.contains(expected)),
        "expected a problem naming {expected:?}, got {problems:#?}"
    );
}

#[test]
fn an_undocumented_variable_is_refused_wherever_it_is_given() {
    assert_refused(
        &deploy_with(
            "compose.yaml",
            "      RYZE_MODE: production\n",
            "      RYZE_MODE: production\n      SLACK_WEBHOOK_URL: https://x\n",
        ),
        "SLACK_WEBHOOK_URL is not a setting",
    );
    assert_refused(
        &deploy_with(
            "kubernetes/configmap.yaml",
            "  RYZE_MODE: production\n",
            "  RYZE_MODE: production\n  QUEUE_URL: nats://x\n",
        ),
        "QUEUE_URL is not a setting",
    );
    assert_refused(
        &deploy_with(
            "Dockerfile",
            "RYZE_LOG_FORMAT=json",
            "RYZE_LOG_FORMAT=json RYZE_LOG_LEVEL=debug",
        ),
        "RYZE_LOG_LEVEL is not a setting",
    );
    assert_refused(
        &deploy_with(
            "compose.yaml",
            "BRIDGE_LISTEN: 0.0.0.0:8081",
            "BRIDGE_LISTEN: 0.0.0.0:8081\n      RYZE__BRIDGE_SERVICE__NO_SUCH_KEY: \"1\"",
        ),
        "RYZE__BRIDGE_SERVICE__NO_SUCH_KEY is not a setting",
    );
    assert_refused(
        &deploy_with(
            ".env.example",
            "ENGINE_URL=\n",
            "ENGINE_URL=\nSOMETHING_ELSE=1\n",
        ),
        "SOMETHING_ELSE, which deploy/compose.yaml never uses",
    );
    // A documented `RYZE__` key passes.
    let (_, problems) = check_deploy(&deploy_with(
        "kubernetes/configmap.yaml",
        "  RYZE_MODE: production\n",
        "  RYZE_MODE: production\n  RYZE__RATE_LIMIT__PER_MINUTE: \"200\"\n",
    ));
    assert_no_problems(&problems);
}

#[tokio::test]
async fn a_wrong_probe_path_or_port_is_refused() {
    let files = deploy_with("kubernetes/api.yaml", "path: /readyz", "path: /ready");
    let (containers, problems) = check_deploy(&files);
    assert_no_problems(&problems);
    let probes: Vec<Probe> = containers.into_iter().flat_map(|c| c.probes).collect();
    let problems = probe_problems(&probes).await;
    assert!(
        problems.len() == 1 && problems[0].contains("GET /ready on port 8080 answered Ok(404)"),
        "{problems:#?}"
    );
    assert_refused(
        &deploy_with(
            "compose.yaml",
            "http://127.0.0.1:8081/healthz",
            "http://127.0.0.1:8080/healthz",
        ),
        "probes port 8080, but `ryze bridge` listens on [8081]",
    );
    assert_refused(
        &deploy_with(
            "kubernetes/bridge.yaml",
            "containerPort: 8081",
            "containerPort: 8082",
        ),
        "declares port 8082",
    );
    assert_refused(
        &deploy_with("Dockerfile", "EXPOSE 8080 8081", "EXPOSE 8080"),
        "EXPOSE [8080]",
    );
    assert_refused(
        &deploy_with(
            "compose.yaml",
            "BRIDGE_PUBLIC_URL: http://ryze-bridge:8081",
            "BRIDGE_PUBLIC_URL: http://ryze-api:8081",
        ),
        "BRIDGE_PUBLIC_URL (http://ryze-api:8081) does not reach",
    );
    assert_refused(
        &deploy_with(
            "kubernetes/configmap.yaml",
            "RYZE_LISTEN: 0.0.0.0:8080",
            "RYZE_LISTEN: 127.0.0.1:8080",
        ),
        "must listen on every interface",
    );
}

#[test]
fn the_image_must_be_the_production_build_run_by_a_non_root_user() {
    assert_refused(
        &deploy_with("Dockerfile", " --no-default-features", ""),
        "not the production build",
    );
    assert_refused(
        &deploy_with("Dockerfile", "USER nonroot:nonroot", "USER root"),
        "non-root USER",
    );
    assert_refused(
        &deploy_with("kubernetes/api.yaml", "            - name: METRICS_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: ryze-secrets\n                  key: METRICS_TOKEN\n", "            - name: METRICS_TOKEN\n              value: in-the-clear\n"),
        "METRICS_TOKEN must come from a Secret",
    );
}
