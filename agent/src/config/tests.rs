use super::*;

fn file(text: &str) -> FileConfig {
    FileConfig::from_toml_str(text).unwrap()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = Config::resolve(&Overrides::default(), FileConfig::default()).unwrap();
    assert_eq!(c.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
    assert_eq!(c.hub, None);
    assert_eq!(c.heartbeat, None);
    assert_eq!(c.sample_interval, DEFAULT_SAMPLE_INTERVAL);
    assert_eq!(c.request_timeout, DEFAULT_REQUEST_TIMEOUT);
    assert_eq!(c.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
    assert_eq!(c.thresholds, Thresholds::default());
    assert_eq!(c.sample, SampleSettings::default());
    assert_eq!(c.outbox, OutboxLimits::default());
    assert_eq!(
        (c.log_format, c.log.as_str()),
        (LogFormat::Plain, DEFAULT_LOG)
    );
}

#[test]
fn the_file_overrides_defaults_and_flags_or_env_override_the_file() {
    let f = file(
        r#"
        state_dir = "/file/state"
        hub = "https://file-hub:7443"
        heartbeat = "30s"
        sample_interval = "5s"
        log_format = "json"
        log = "debug"
        "#,
    );
    let c = Config::resolve(&Overrides::default(), f.clone()).unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/file/state"));
    assert_eq!(c.hub.unwrap().to_string(), "https://file-hub:7443");
    assert_eq!(c.heartbeat, Some(Duration::from_secs(30)));
    assert_eq!(c.sample_interval, Duration::from_secs(5));
    assert_eq!(c.log_format, LogFormat::Json);

    let o = Overrides {
        state_dir: Some("/flag/state".into()),
        hub: Some("https://flag-hub:1".into()),
        heartbeat: Some(Duration::from_secs(3)),
        sample_interval: None,
        request_timeout: Some(Duration::from_secs(1)),
        log_format: Some(LogFormat::Plain),
        log: Some("warn".into()),
    };
    let c = Config::resolve(&o, f).unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/flag/state"));
    assert_eq!(c.hub.unwrap().host(), "flag-hub");
    assert_eq!(c.heartbeat, Some(Duration::from_secs(3)));
    assert_eq!(
        c.sample_interval,
        Duration::from_secs(5),
        "unset flag falls back to the file"
    );
    assert_eq!(c.request_timeout, Duration::from_secs(1));
    assert_eq!((c.log_format, c.log.as_str()), (LogFormat::Plain, "warn"));
}

#[test]
fn reserve_accepts_quantities_and_numbers() {
    let f = file("[reserve]\ncpu = \"500m\"\nmemory = \"1Gi\"\nstorage = 1000\n");
    let c = Config::resolve(&Overrides::default(), f).unwrap();
    assert_eq!(
        c.sample.reserve,
        Reserve {
            cpu_millis: 500,
            memory_bytes: 1 << 30,
            storage_bytes: 1000
        }
    );
    let c = Config::resolve(&Overrides::default(), file("[reserve]\ncpu = 2\n")).unwrap();
    assert_eq!(c.sample.reserve.cpu_millis, 2000);
}

#[test]
fn the_example_config_parses_and_resolves() {
    let f = FileConfig::from_toml_str(include_str!("../../../config/agent.example.toml")).unwrap();
    let c = Config::resolve(&Overrides::default(), f).unwrap();
    assert_eq!(
        c.sample.reserve,
        Reserve {
            cpu_millis: 500,
            memory_bytes: 256 << 20,
            storage_bytes: 2 << 30
        }
    );
    assert_eq!(c.outbox.max_bytes, 16 << 20);
    assert_eq!(
        c.sample.labels.get("example.org/site").map(String::as_str),
        Some("lab-1")
    );
    assert_eq!(c.sample.location.unwrap().city.as_deref(), Some("Turin"));
    assert_eq!(
        c.heartbeat, None,
        "the example leaves the heartbeat to the hub"
    );
}

#[test]
fn numeric_coordinates_become_text() {
    let c = Config::resolve(&Overrides::default(), file("[location]\nlatitude = 45.5\n")).unwrap();
    assert_eq!(c.sample.location.unwrap().latitude.as_deref(), Some("45.5"));
}

#[test]
fn unknown_keys_are_rejected() {
    assert!(FileConfig::from_toml_str("hearbeat = \"10s\"").is_err());
    assert!(FileConfig::from_toml_str("[reserve]\ngpu = 1").is_err());
}

#[test]
fn invalid_values_are_rejected() {
    let bad = |text: &str| Config::resolve(&Overrides::default(), file(text)).unwrap_err();
    assert!(matches!(
        bad("hub = \"http://hub:80\""),
        ConfigError::Hub(_)
    ));
    assert!(matches!(
        bad("sample_interval = \"0s\""),
        ConfigError::Zero("sample_interval")
    ));
    assert!(matches!(
        bad("heartbeat = \"0s\""),
        ConfigError::Zero("heartbeat")
    ));
    assert!(matches!(
        bad("outbox_max_bytes = 0"),
        ConfigError::Zero("outbox_max_bytes")
    ));
    assert!(matches!(
        bad("[thresholds]\nmemory_ratio = -1.0"),
        ConfigError::Threshold("memory_ratio", _)
    ));
    assert!(matches!(
        bad("[reserve]\nmemory = \"-1Gi\""),
        ConfigError::Amount("reserve.memory", _)
    ));
    assert!(matches!(
        bad("log = \"fluidos_agent=loud\""),
        ConfigError::Log(_)
    ));
    assert!(matches!(
        bad("[labels]\n\"\" = \"x\""),
        ConfigError::EmptyLabel
    ));
    assert!(FileConfig::from_toml_str("heartbeat = \"soon\"").is_err());
}
