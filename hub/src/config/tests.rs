//! Tests of configuration layering and validation, including the shipped example file.

use super::*;

const EXAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../config/hub.example.toml"
));

fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    FileConfig::parse(text, Path::new("test.toml"))
}

#[test]
fn the_example_file_parses_and_matches_the_defaults() {
    let file = parse(EXAMPLE).unwrap();
    assert_eq!(file.heartbeat, Some(DEFAULT_HEARTBEAT));
    let from_example = Config::resolve(&ConfigArgs::default(), file).unwrap();
    let defaults = Config::resolve(&ConfigArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(from_example, defaults);
}

#[test]
fn defaults_depend_on_the_profile() {
    let run = Config::resolve(&ConfigArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(run.state_dir, Path::new(DEFAULT_STATE_DIR));
    assert_eq!(run.agent_listen.to_string(), "0.0.0.0:7443");
    assert_eq!(run.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(
        (run.cert_validity, run.log.as_str()),
        (DEFAULT_CERT_VALIDITY, "info")
    );
    let up = Config::resolve(
        &ConfigArgs {
            profile: Profile::Up,
            ..ConfigArgs::default()
        },
        FileConfig::default(),
    )
    .unwrap();
    assert_eq!(up.state_dir, Path::new(UP_STATE_DIR));
    assert_eq!(up.agent_listen.to_string(), "127.0.0.1:7443");
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let file =
        parse("heartbeat = \"5s\"\nagent_listen = \"127.0.0.1:1\"\nlog = \"debug\"\n").unwrap();
    let args = ConfigArgs {
        heartbeat: Some(Duration::from_secs(2)),
        ..ConfigArgs::default()
    };
    let c = Config::resolve(&args, file).unwrap();
    assert_eq!(c.heartbeat, Duration::from_secs(2));
    assert_eq!(c.agent_listen.to_string(), "127.0.0.1:1");
    assert_eq!(c.log, "debug");
}

#[test]
fn flavor_sections_are_applied() {
    let file = parse(
        "[price]\namount = \"3\"\ncurrency = \"EUR\"\n[partitionability]\ncpu_step = \"500m\"\n\
         [location]\ncity = \"Turin\"\n",
    )
    .unwrap();
    let c = Config::resolve(&ConfigArgs::default(), file).unwrap();
    assert_eq!(
        (
            c.flavor.price.amount.as_str(),
            c.flavor.price.period.as_str()
        ),
        ("3", "")
    );
    assert_eq!(
        c.flavor.partitionability.cpu_step,
        Quantity::from_milli(500)
    );
    assert_eq!(
        c.flavor.partitionability.memory_step,
        Quantity::from_bytes_binary(100 << 20)
    );
    assert_eq!(c.flavor.location.unwrap().city.as_deref(), Some("Turin"));
}

#[test]
fn unknown_keys_and_bad_values_are_rejected() {
    assert!(matches!(
        parse("hartbeat = \"5s\""),
        Err(ConfigError::Parse { .. })
    ));
    assert!(matches!(
        parse("[price]\nfoo = \"1\""),
        Err(ConfigError::Parse { .. })
    ));
    assert!(matches!(
        parse("[partitionability]\ncpu_min = \"lots\""),
        Err(ConfigError::Parse { .. })
    ));
    for bad in [
        "heartbeat = \"0s\"",
        "heartbeat = \"1500ms\"",
        "cert_validity = \"1s\"",
        "flavor_change_threshold = 1.5",
        "domain = \"Not A Domain\"",
        "log = \"[[\"",
        "[partitionability]\ncpu_min = \"-1\"",
    ] {
        let err = Config::resolve(&ConfigArgs::default(), parse(bad).unwrap()).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{bad}: {err}");
    }
}
