//! A TCP relay on loopback in front of a server (the test registry), whose server-to-client
//! bytes a test shapes: a slow link, a link that goes silent.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

/// What becomes of a chunk the server sent.
pub enum Flow {
    /// Passed on to the client.
    Pass,
    /// Dropped, and the connection goes silent: the server side is closed, the client's is
    /// held open until the client gives up.
    Stall,
}

/// Relays every connection to `upstream` (host:port) on a port of its own, returned: the
/// client's bytes as they are; each chunk from the server through `shape`, made anew for each
/// connection (it may count what that connection carried), before it goes on.
pub fn start<F>(upstream: &str, shape: impl Fn() -> F + Send + 'static) -> u16
where
    F: FnMut(&[u8]) -> Flow + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = listener.local_addr().expect("addr").port();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let mut shape = shape();
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = match s_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    match shape(&buf[..n]) {
                        Flow::Pass => {
                            if c_write.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        Flow::Stall => {
                            // Silent from here on, until the client gives up (its next write
                            // or read on a closed socket fails).
                            let _ = s_read.shutdown(Shutdown::Both);
                            let mut sink = [0u8; 1024];
                            while c_write.read(&mut sink).map(|n| n > 0).unwrap_or(false) {}
                            return;
                        }
                    }
                }
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    port
}
