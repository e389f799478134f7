//! `lake serve`: compiles the project once, then hands it to the web app.

use std::net::{IpAddr, SocketAddr};

use crate::cli::{GlobalArgs, ServeArgs, EXIT_ERROR, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::serve::{self, site::Site, Options};

use super::{compile_project, Failure};

/// Serves dashboards, lineage, model pages and runs until interrupted.
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<u8, Failure> {
    let ip: IpAddr = args.host.parse().map_err(|_| {
        Failure::Usage(
            Diagnostic::new(
                Code::InvalidValue,
                format!("--host {} is not an IP address", args.host),
            )
            .with_help(
                "use 127.0.0.1 (this machine only, the default) or 0.0.0.0 (every interface)",
            ),
        )
    })?;
    let token = args.auth_token.clone().filter(|t| !t.is_empty());
    if !ip.is_loopback() && token.is_none() {
        crate::stderrln!(
            "warning: lake serve listens on {ip} without an access token: anyone who can reach \
             this machine can read the marts. Set --auth-token or LAKE_SERVE_TOKEN."
        );
    }
    let compiled = compile_project(global)?;
    super::require_snapshots(&compiled.project.target, "`lake serve`")?;
    let site = Site::new(compiled.project, compiled.dag);
    let addr = SocketAddr::new(ip, args.port);
    match serve::serve(site, Options { addr, token }) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => {
            Diagnostic::new(Code::Io, format!("lake serve cannot listen on {addr}: {e}"))
                .with_help("pick another --port, or stop what is using this one")
                .emit_stderr();
            Ok(EXIT_ERROR)
        }
    }
}
