//! The files clients need are private: 0600, in directories created 0700, replacing an
//! existing file (whatever its mode) without leaving temporary files behind.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn service_account_dir_and_kubeconfig_are_written_private() {
    let (server, _c) = server(Options::default()).await;
    let root = tempfile::tempdir().unwrap();
    let sa = root.path().join("a/b/sa");
    server
        .write_service_account_dir(&sa, "secret-token", "netbird")
        .unwrap();
    for dir in ["a", "a/b", "a/b/sa"] {
        assert_eq!(mode(&root.path().join(dir)), 0o700, "{dir}");
    }
    assert_eq!(names(&sa), ["ca.crt", "namespace", "token"]);
    for file in ["ca.crt", "namespace", "token"] {
        assert_eq!(mode(&sa.join(file)), 0o600, "{file}");
    }
    assert_eq!(
        std::fs::read_to_string(sa.join("token")).unwrap(),
        "secret-token"
    );
    assert_eq!(
        std::fs::read_to_string(sa.join("ca.crt")).unwrap(),
        server.ca_pem()
    );

    // An existing, world-readable kubeconfig is replaced by a private one.
    let kc_dir = root.path().join("kube");
    std::fs::create_dir(&kc_dir).unwrap();
    let kc = kc_dir.join("config");
    std::fs::write(&kc, "old").unwrap();
    std::fs::set_permissions(&kc, std::fs::Permissions::from_mode(0o644)).unwrap();
    server
        .write_kubeconfig(&kc, "secret-token", "netbird")
        .unwrap();
    assert_eq!(mode(&kc), 0o600);
    assert_eq!(names(&kc_dir), ["config"], "no temporary file left behind");
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(
        text.contains(&format!("server: \"{}\"", server.url())),
        "{text}"
    );

    // A kubeconfig in a directory that does not exist yet.
    let fresh = root.path().join("new/config");
    server.write_kubeconfig(&fresh, "t", "netbird").unwrap();
    assert_eq!(
        (mode(&fresh), mode(&root.path().join("new"))),
        (0o600, 0o700)
    );
}
