//! Images a test builds for itself (`FROM` a test image, a layer or an entrypoint changed).

use std::io::Write;
use std::process::{Command, Stdio};

use super::stack::docker;

/// An image a test built, removed when dropped.
pub struct LocalImage(pub String);

impl Drop for LocalImage {
    fn drop(&mut self) {
        docker(&["rmi", "-f", &self.0]);
    }
}

/// Images named while a test runs (a pull's reference through a relay, say), removed when
/// dropped. Declared before the stack that uses them, so that it is dropped after the stack's
/// containers are gone: an image a container still uses cannot be removed.
#[derive(Default)]
pub struct ImagesToRemove(std::cell::RefCell<Vec<String>>);

impl ImagesToRemove {
    pub fn add(&self, reference: &str) {
        self.0.borrow_mut().push(reference.to_string());
    }
}

impl Drop for ImagesToRemove {
    fn drop(&mut self) {
        for reference in self.0.borrow().iter() {
            docker(&["rmi", "-f", reference]);
        }
    }
}

/// `docker build -t tag -` of `dockerfile`, with the legacy builder (BuildKit keeps the layers
/// in its cache after `rmi`, and a pull test needs them gone); panics naming `tag` when it fails.
pub fn docker_build(tag: &str, dockerfile: &str) {
    let mut build = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker build");
    build
        .stdin
        .take()
        .expect("stdin")
        .write_all(dockerfile.as_bytes())
        .expect("write Dockerfile");
    assert!(build.wait().expect("build").success(), "docker build of {tag} failed");
}
