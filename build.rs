//! Records the build's provenance for `ember --version` and `prometheus_build_info`.
//!
//! Each value can be set from the environment (for release pipelines and Docker builds,
//! where there is no `.git`), otherwise it is taken from git and the build machine:
//!
//! | variable            | default                                    |
//! |---------------------|--------------------------------------------|
//! | `EMBER_REVISION`    | `git rev-parse HEAD`, else `unknown`       |
//! | `EMBER_BRANCH`      | `git rev-parse --abbrev-ref HEAD`, else `unknown` |
//! | `EMBER_BUILD_USER`  | `$USER@<hostname>`                         |
//! | `SOURCE_DATE_EPOCH` | the time this script runs                  |

#[path = "src/civil.rs"]
mod civil;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    for var in [
        "EMBER_REVISION",
        "EMBER_BRANCH",
        "EMBER_BUILD_USER",
        "SOURCE_DATE_EPOCH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    watch_git_head();

    let revision = env_or("EMBER_REVISION", || git(&["rev-parse", "HEAD"]));
    let branch = env_or("EMBER_BRANCH", || {
        git(&["rev-parse", "--abbrev-ref", "HEAD"])
    });
    let user = env_or("EMBER_BUILD_USER", || {
        let user = std::env::var("USER").ok()?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        Some(format!("{user}@{}", host.trim()))
    });
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());

    println!("cargo:rustc-env=EMBER_BUILD_REVISION={revision}");
    println!("cargo:rustc-env=EMBER_BUILD_BRANCH={branch}");
    println!("cargo:rustc-env=EMBER_BUILD_USER={user}");
    println!("cargo:rustc-env=EMBER_BUILD_DATE={}", build_date(epoch));
    println!("cargo:rustc-env=EMBER_RUSTC_VERSION={rustc_version}");
}

fn env_or(var: &str, fallback: impl FnOnce() -> Option<String>) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(fallback)
        .unwrap_or_else(|| "unknown".into())
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Re-runs this script when the checked-out commit changes: the worktree's `HEAD`, the
/// branch it points at, and `packed-refs`. Only existing files are named, since cargo
/// re-runs the script on every build for a missing one.
fn watch_git_head() {
    let (Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) else {
        return;
    };
    let git_dir = PathBuf::from(git_dir);
    let common_dir = PathBuf::from(common_dir);
    let mut watched = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common_dir.join(reference));
    }
    for path in watched.iter().filter(|p| Path::exists(p)) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// `YYYYMMDD-HH:MM:SS` in UTC, the layout of Prometheus's build date.
fn build_date(epoch: i64) -> String {
    let (year, month, day) = civil::civil_from_days(epoch.div_euclid(86_400));
    let secs = epoch.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
