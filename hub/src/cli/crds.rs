//! `fluidos-hub crds`: print the FLUIDOS CustomResourceDefinitions as one multi-document YAML
//! stream (for `kubectl apply -f -`), or, with `--out DIR`, write one file per CRD named like
//! upstream's (`<group>_<plural>.yaml`). The CRDs themselves are built in [`crate::k8s::crds`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::k8s::crds;

/// `crds` options.
#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Write one `<group>_<plural>.yaml` per CRD into DIR (created if missing) instead of
    /// printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Run `crds`.
pub(super) fn run(args: &CrdsArgs) -> anyhow::Result<ExitCode> {
    match &args.out {
        Some(dir) => write_files(dir)?,
        None => print_stream(&crds::all_yaml()?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `yaml` to stdout; a reader that went away (`| head`) is not an error.
fn print_stream(yaml: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(yaml.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

fn write_files(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in crds::files()? {
        let path = dir.join(&file.name);
        std::fs::write(&path, file.contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_writes_one_file_per_crd() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("crds");
        run(&CrdsArgs {
            out: Some(out.clone()),
        })
        .unwrap();
        let files = crds::files().unwrap();
        assert_eq!(files.len(), 12, "eleven CRDs and the kustomization");
        for file in files {
            let written = std::fs::read_to_string(out.join(&file.name)).unwrap();
            assert_eq!(written, file.contents);
        }
        assert!(out.join("nodecore.fluidos.eu_flavors.yaml").exists());
    }
}
