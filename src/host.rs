//! Facts about the machine for the start-up log, read with libc: host name, `uname`,
//! resource limits and the data directory's file-system type (Prometheus warns on NFS,
//! which cannot hold a TSDB safely).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The host's name (`uname -n`), or `localhost` when it cannot be read.
pub fn hostname() -> String {
    uname_fields().map_or_else(|| "localhost".to_string(), |u| u.nodename)
}

/// `(sysname release version machine nodename domainname)`, as Prometheus logs it.
pub fn uname() -> String {
    match uname_fields() {
        Some(u) => format!(
            "({} {} {} {} {} {})",
            u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname
        ),
        None => "(unknown)".to_string(),
    }
}

struct Uname {
    sysname: String,
    release: String,
    version: String,
    machine: String,
    nodename: String,
    domainname: String,
}

fn uname_fields() -> Option<Uname> {
    // SAFETY: utsname is plain old data, so all-zero is a valid value, and uname() only
    // writes NUL-terminated strings into the fixed-size arrays of the struct we own.
    let mut buf: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid, writable utsname for the duration of the call.
    if unsafe { libc::uname(&mut buf) } != 0 {
        return None;
    }
    let field = |chars: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some(Uname {
        sysname: field(&buf.sysname),
        release: field(&buf.release),
        version: field(&buf.version),
        machine: field(&buf.machine),
        nodename: field(&buf.nodename),
        #[cfg(target_os = "linux")]
        domainname: field(&buf.domainname),
        #[cfg(not(target_os = "linux"))]
        domainname: String::new(),
    })
}

/// Open-file limits: `(soft=1024, hard=524288)`.
pub fn fd_limits() -> String {
    limits(libc::RLIMIT_NOFILE)
}

/// Address-space limits: `(soft=unlimited, hard=unlimited)`.
pub fn vm_limits() -> String {
    limits(libc::RLIMIT_AS)
}

#[cfg(target_os = "linux")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_os = "linux"))]
type Resource = libc::c_int;

fn limits(resource: Resource) -> String {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return "(unknown)".to_string();
    }
    let show = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    format!(
        "(soft={}, hard={})",
        show(limit.rlim_cur),
        show(limit.rlim_max)
    )
}

/// The file-system type of `path` (or of its closest existing parent) as the kernel's
/// magic-number name, e.g. `EXT4_SUPER_MAGIC`; the number in hex when unknown.
pub fn fs_type(path: &Path) -> String {
    let mut probe = Some(path);
    while let Some(p) = probe {
        if let Some(magic) = statfs_magic(p) {
            return fs_name(magic).map_or_else(|| format!("{magic:#x}"), str::to_string);
        }
        probe = p.parent().filter(|parent| !parent.as_os_str().is_empty());
    }
    "unknown".to_string()
}

#[cfg(target_os = "linux")]
fn statfs_magic(path: &Path) -> Option<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs is plain old data; all-zero is valid.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and outlives the call; `buf` is writable.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    // f_type is signed on some targets; the magic numbers are 32-bit patterns.
    Some(buf.f_type as u64 & 0xffff_ffff)
}

#[cfg(not(target_os = "linux"))]
fn statfs_magic(_path: &Path) -> Option<u64> {
    None
}

/// Names of common file-system magic numbers (Linux `include/uapi/linux/magic.h`).
fn fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0xEF53 => "EXT4_SUPER_MAGIC",
        0x58465342 => "XFS_SUPER_MAGIC",
        0x9123683E => "BTRFS_SUPER_MAGIC",
        0x2FC12FC1 => "ZFS_SUPER_MAGIC",
        0xF2F52010 => "F2FS_SUPER_MAGIC",
        0x01021994 => "TMPFS_MAGIC",
        0x858458F6 => "RAMFS_MAGIC",
        0x794C7630 => "OVERLAYFS_SUPER_MAGIC",
        0x65735546 => "FUSE_SUPER_MAGIC",
        0x6969 => "NFS_SUPER_MAGIC",
        0xFF534D42 => "CIFS_SUPER_MAGIC",
        0xFE534D42 => "SMB2_SUPER_MAGIC",
        0x00C36400 => "CEPH_SUPER_MAGIC",
        0xCA451A4E => "BCACHEFS_SUPER_MAGIC",
        _ => return None,
    })
}

/// Whether a file-system type is one Prometheus warns about (network file systems).
pub fn is_unsupported_fs(name: &str) -> bool {
    name == "NFS_SUPER_MAGIC"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_matches_the_kernel_files() {
        // /proc/sys/kernel/{hostname,ostype,osrelease} hold the same strings uname(2)
        // returns, read independently.
        let read = |f: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
                .map(|s| s.trim().to_string())
                .ok()
        };
        if let (Some(host), Some(os), Some(release)) =
            (read("hostname"), read("ostype"), read("osrelease"))
        {
            assert_eq!(hostname(), host);
            assert!(
                uname().starts_with(&format!("({os} {release} ")),
                "{}",
                uname()
            );
        }
    }

    #[test]
    fn limits_read_the_process_limits() {
        // /proc/self/limits lists "Max open files  <soft>  <hard>  files".
        let fd = fd_limits();
        assert!(fd.starts_with("(soft=") && fd.contains(", hard="), "{fd}");
        if let Ok(text) = std::fs::read_to_string("/proc/self/limits") {
            let line = text
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .expect("open files line");
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fd, format!("(soft={}, hard={})", cols[3], cols[4]));
        }
        assert!(vm_limits().starts_with("(soft="));
    }

    #[test]
    fn fs_type_walks_up_to_an_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not/yet/created");
        assert_eq!(fs_type(&missing), fs_type(dir.path()));
        assert_ne!(fs_type(dir.path()), "unknown");
        assert_eq!(fs_name(0x6969), Some("NFS_SUPER_MAGIC"));
        assert!(is_unsupported_fs("NFS_SUPER_MAGIC"));
        assert!(!is_unsupported_fs("EXT4_SUPER_MAGIC"));
    }
}
