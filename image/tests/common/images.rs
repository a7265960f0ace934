//! Test images made locally as OCI layout directories, pushed with skopeo.

use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(b)))
}

/// A tar under construction (entries with exact names, even hostile ones).
#[derive(Default)]
pub struct Tar {
    b: Vec<u8>,
}

impl Tar {
    fn header(kind: tar::EntryType, name: &str, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        // Bypass the tar crate's path checks: tests need `..` and absolute names.
        let n = name.as_bytes();
        assert!(n.len() < 100, "test entry name too long");
        h.as_old_mut().name[..n.len()].copy_from_slice(n);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn push(&mut self, mut h: tar::Header, data: &[u8]) {
        h.set_cksum();
        self.b.extend_from_slice(h.as_bytes());
        self.b.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.b.extend(std::iter::repeat_n(0u8, pad));
    }

    /// A regular file.
    pub fn file(mut self, name: &str, mode: u32, data: &[u8]) -> Self {
        let h = Self::header(tar::EntryType::Regular, name, mode, data.len() as u64);
        self.push(h, data);
        self
    }

    /// A file owned by uid/gid.
    pub fn file_owned(mut self, name: &str, mode: u32, uid: u64, gid: u64, data: &[u8]) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, name, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.push(h, data);
        self
    }

    /// A file with pax xattrs.
    pub fn file_xattrs(
        mut self,
        name: &str,
        mode: u32,
        data: &[u8],
        xattrs: &[(&str, &[u8])],
    ) -> Self {
        let mut pax = Vec::new();
        for (k, v) in xattrs {
            let key = format!("SCHILY.xattr.{k}");
            let mut rec = Vec::new();
            let body_len = key.len() + v.len() + 3;
            let mut len = body_len + 1;
            while format!("{len}").len() + body_len != len {
                len += 1;
            }
            rec.extend_from_slice(format!("{len} {key}=").as_bytes());
            rec.extend_from_slice(v);
            rec.push(b'\n');
            pax.extend(rec);
        }
        let h = Self::header(
            tar::EntryType::XHeader,
            "PaxHeader",
            0o644,
            pax.len() as u64,
        );
        self.push(h, &pax);
        self.file(name, mode, data)
    }

    /// A directory.
    pub fn dir(mut self, name: &str, mode: u32) -> Self {
        let h = Self::header(tar::EntryType::Directory, name, mode, 0);
        self.push(h, &[]);
        self
    }

    fn link(mut self, kind: tar::EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(kind, name, 0o777, 0);
        let t = target.as_bytes();
        assert!(t.len() < 100, "test link target too long");
        h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
        self.push(h, &[]);
        self
    }

    /// A symlink.
    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.link(tar::EntryType::Symlink, name, target)
    }

    /// A hardlink.
    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.link(tar::EntryType::Link, name, target)
    }

    /// A device node or fifo.
    pub fn node(
        mut self,
        kind: tar::EntryType,
        name: &str,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> Self {
        let mut h = Self::header(kind, name, mode, 0);
        h.set_device_major(major).expect("major");
        h.set_device_minor(minor).expect("minor");
        self.push(h, &[]);
        self
    }

    /// The finished tar bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.b.extend(std::iter::repeat_n(0u8, 1024));
        self.b
    }
}

/// The busybox-static base layer, made by GNU tar from a staging directory.
pub fn busybox_layer(work: &Path) -> Vec<u8> {
    let st = work.join("busybox-staging");
    for d in ["bin", "etc", "tmp", "root", "home/app", "data"] {
        std::fs::create_dir_all(st.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", st.join("bin/busybox")).expect("copy busybox");
    for a in [
        "sh", "ls", "cat", "echo", "id", "pwd", "env", "stat", "true", "readlink",
    ] {
        std::os::unix::fs::symlink("busybox", st.join("bin").join(a)).expect("symlink");
    }
    std::fs::write(
        st.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::write(
        st.join("etc/group"),
        "root:x:0:\napp:x:1000:\nwheel:x:10:app\n",
    )
    .expect("group");
    std::fs::write(st.join("etc/motd"), "old motd\n").expect("motd");
    std::fs::write(st.join("data/old.txt"), "to be deleted\n").expect("old");
    std::fs::write(st.join("data/lowerfile"), "lower content\n").expect("lower");
    std::fs::create_dir_all(st.join("opq/sub")).expect("opq");
    std::fs::write(st.join("opq/hidden"), "hidden by opaque\n").expect("hidden");
    let out = work.join("busybox-layer.tar");
    super::run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&st)
            .args(["--numeric-owner", "--owner=0", "--group=0", "-cf"])
            .arg(&out)
            .arg("."),
    );
    std::fs::read(out).expect("read layer")
}

/// A layer changing the base: adds, changes and deletes files, an opaque directory,
/// hardlinks (within the layer and to a lower-layer file), symlinks, setuid, a fifo,
/// a device node and a capability xattr.
pub fn change_layer() -> Vec<u8> {
    let cap: &[u8] = &[
        0, 0, 0, 2, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]; // cap_net_bind_service+ep (v2)
    Tar::default()
        .dir("data/", 0o755)
        .file("data/new.txt", 0o644, b"new file\n")
        .file("etc/motd", 0o644, b"new motd\n")
        .file("data/.wh.old.txt", 0o644, b"")
        .file("opq/.wh..wh..opq", 0o644, b"")
        .file("opq/kept", 0o644, b"kept\n")
        .file("data/hl1", 0o640, b"linked\n")
        .hardlink("data/hl2", "data/hl1")
        .hardlink("data/lowerlink", "data/lowerfile")
        .symlink("data/sym", "new.txt")
        .file_owned("data/suid", 0o4755, 1000, 1000, b"#!/bin/sh\n")
        .node(tar::EntryType::Fifo, "data/fifo", 0o600, 0, 0)
        .node(tar::EntryType::Char, "data/null", 0o666, 1, 3)
        .file_xattrs(
            "data/capped",
            0o755,
            b"cap\n",
            &[("security.capability", cap), ("user.note", b"hello")],
        )
        .finish()
}

/// Image config settings for [`write_layout`].
pub struct Cfg<'a> {
    /// Entrypoint.
    pub entrypoint: &'a [&'a str],
    /// Cmd.
    pub cmd: &'a [&'a str],
    /// User.
    pub user: &'a str,
    /// Env.
    pub env: &'a [&'a str],
    /// WorkingDir.
    pub workdir: &'a str,
}

impl Default for Cfg<'_> {
    fn default() -> Self {
        Cfg {
            entrypoint: &[],
            cmd: &["/bin/sh"],
            user: "",
            env: &["PATH=/bin"],
            workdir: "/",
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// How layers are compressed in a test layout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    /// gzip (flate2).
    Gzip,
    /// zstd (the `zstd` command).
    Zstd,
}

fn zstd(data: &[u8]) -> Vec<u8> {
    let mut c = Command::new("zstd")
        .args(["-q", "-c", "-3"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("zstd");
    let mut stdin = c.stdin.take().expect("stdin");
    let data = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data));
    let out = c.wait_with_output().expect("zstd output");
    w.join().expect("join").expect("write to zstd");
    assert!(out.status.success(), "zstd failed");
    out.stdout
}

/// Writes one image's blobs (layers, config, manifest) into the layout at `dir`;
/// returns the manifest descriptor (with `platform` set to `arch`).
pub fn write_image(
    dir: &Path,
    layers: &[Vec<u8>],
    cfg: &Cfg,
    arch: &str,
    comp: Comp,
) -> serde_json::Value {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(blobs.join(&d[7..]), b).expect("write blob");
        d
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for l in layers {
        diff_ids.push(sha(l));
        let (z, mt) = match comp {
            Comp::Gzip => (gzip(l), "application/vnd.oci.image.layer.v1.tar+gzip"),
            Comp::Zstd => (zstd(l), "application/vnd.oci.image.layer.v1.tar+zstd"),
        };
        descs.push(serde_json::json!({"mediaType": mt, "digest": put(&z), "size": z.len()}));
    }
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Entrypoint": cfg.entrypoint, "Cmd": cfg.cmd, "User": cfg.user, "Env": cfg.env, "WorkingDir": cfg.workdir,
                   "Labels": {"org.example.test": "yes"}, "StopSignal": "SIGQUIT"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    });
    let cb = serde_json::to_vec(&config).expect("json");
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&cb), "size": cb.len()},
        "layers": descs
    });
    let mb = serde_json::to_vec(&manifest).expect("json");
    serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(&mb), "size": mb.len(),
        "platform": {"architecture": arch, "os": "linux"}})
}

/// Writes `oci-layout` and an `index.json` naming `entry` as `tag`.
pub fn write_index(dir: &Path, tag: &str, mut entry: serde_json::Value) {
    entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("layout");
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]});
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index");
}

/// Writes an OCI layout at `dir` holding one host-platform image tagged `tag` with
/// `layers` (uncompressed tars, gzipped here). Returns the manifest digest.
pub fn write_layout(dir: &Path, tag: &str, layers: &[Vec<u8>], cfg: &Cfg) -> String {
    let mut d = write_image(
        dir,
        layers,
        cfg,
        &hoist::manifest::Platform::host().architecture,
        Comp::Gzip,
    );
    d.as_object_mut().expect("object").remove("platform");
    let digest = d["digest"].as_str().expect("digest").to_string();
    write_index(dir, tag, d);
    digest
}

/// Writes a multi-platform image: an image index (stored as a blob) over one image per
/// `(arch, layers)`, tagged `tag`.
pub fn write_multi_layout(dir: &Path, tag: &str, per_arch: &[(&str, Vec<Vec<u8>>)]) {
    let entries: Vec<serde_json::Value> = per_arch
        .iter()
        .map(|(a, l)| write_image(dir, l, &Cfg::default(), a, Comp::Gzip))
        .collect();
    let ix = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})).expect("json");
    let d = sha(&ix);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), &ix).expect("write index blob");
    write_index(
        dir,
        tag,
        serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": ix.len()}),
    );
}

/// Pushes `layout:tag` to `dest` (`127.0.0.1:PORT/repo:tag`) with skopeo.
pub fn skopeo_push(layout: &Path, tag: &str, dest: &str, extra: &[&str]) {
    let mut c = Command::new("skopeo");
    c.args(["copy", "-q", "--dest-tls-verify=false"])
        .args(extra)
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{dest}"));
    super::run_ok(&mut c);
}
