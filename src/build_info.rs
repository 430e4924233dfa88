//! What this binary is and how it was built, for `--version`, the start-up log and
//! `prometheus_build_info`. The values come from `build.rs`.

/// Build information, with Prometheus's field names where they apply.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    pub branch: &'static str,
    pub build_user: &'static str,
    /// `YYYYMMDD-HH:MM:SS` (UTC).
    pub build_date: &'static str,
    /// The compiler, e.g. `rustc 1.85.0 (...)`; Prometheus reports its Go version here.
    pub rustc: &'static str,
    /// Operating system and architecture in Go's spelling (`linux`, `amd64`), so that
    /// dashboards grouping by `goos`/`goarch` keep working.
    pub os: &'static str,
    pub arch: &'static str,
}

/// This binary's build information.
pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: env!("EMBER_BUILD_REVISION"),
    branch: env!("EMBER_BUILD_BRANCH"),
    build_user: env!("EMBER_BUILD_USER"),
    build_date: env!("EMBER_BUILD_DATE"),
    rustc: env!("EMBER_RUSTC_VERSION"),
    os: std::env::consts::OS,
    arch: go_arch(),
};

/// Rust's target architecture under Go's name for it.
const fn go_arch() -> &'static str {
    match std::env::consts::ARCH.as_bytes() {
        b"x86_64" => "amd64",
        b"x86" => "386",
        b"aarch64" => "arm64",
        b"powerpc64" => "ppc64",
        b"riscv64" => "riscv64",
        b"s390x" => "s390x",
        _ => std::env::consts::ARCH,
    }
}

impl BuildInfo {
    /// The `--version` text, laid out as Prometheus's.
    pub fn version_text(&self) -> String {
        format!(
            "ember, version {} (branch: {}, revision: {})\n  build user:       {}\n  \
             build date:       {}\n  rust version:     {}\n  platform:         {}/{}",
            self.version,
            self.branch,
            self.revision,
            self.build_user,
            self.build_date,
            self.rustc,
            self.os,
            self.arch
        )
    }

    /// `(version=..., branch=..., revision=...)`, for the start-up log line.
    pub fn short(&self) -> String {
        format!(
            "(version={}, branch={}, revision={})",
            self.version, self.branch, self.revision
        )
    }

    /// `(rustc=..., platform=..., user=..., date=...)`, for the start-up log line.
    pub fn context(&self) -> String {
        format!(
            "(rustc={}, platform={}/{}, user={}, date={})",
            self.rustc, self.os, self.arch, self.build_user, self.build_date
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_text_has_prometheus_layout() {
        let text = BUILD.version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with(&format!(
            "ember, version {} (branch: ",
            env!("CARGO_PKG_VERSION")
        )));
        for (line, key) in
            lines[1..]
                .iter()
                .zip(["build user:", "build date:", "rust version:", "platform:"])
        {
            assert!(line.starts_with(&format!("  {key}")), "{line}");
            // Values start in column 20, as in Prometheus's output.
            let bytes = line.as_bytes();
            assert!(
                bytes.len() > 20 && bytes[19] == b' ' && bytes[20] != b' ',
                "{line}"
            );
        }
        let build_date = BUILD.build_date;
        assert_eq!(build_date.len(), "20240101-00:00:00".len(), "{build_date}");
        assert_eq!(&build_date[8..9], "-");
    }
}
