//! Where an executor is reached when not over a child's stdio (docs/remote-executors.md):
//! one spelling for the executor kit's `--listen` and for `rep-bridge`. REP v0.1 itself only
//! speaks of stdio; a remote executor is one connection per host session, framed the same.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An endpoint: `tcp:HOST:PORT` (a name, an IPv4 address or `[v6]`; port 0 asks a listener
/// for a free port), `unix:PATH` (a Unix-domain stream socket) or `serial:DEVICE` (a serial
/// line, e.g. `serial:/dev/ttyACM0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// TCP to or on `HOST:PORT`, as given.
    Tcp(String),
    /// A Unix-domain stream socket.
    Unix(PathBuf),
    /// A serial line (its speed is an option of whoever opens it).
    Serial(PathBuf),
}

/// A text that is not an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint {given:?}: expected tcp:HOST:PORT, unix:PATH or serial:DEVICE")]
pub struct EndpointError {
    given: String,
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        let error = || EndpointError {
            given: s.to_owned(),
        };
        let (scheme, rest) = s.split_once(':').ok_or_else(error)?;
        match scheme {
            "tcp" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(error)?;
                if host.is_empty() || port.parse::<u16>().is_err() {
                    return Err(error());
                }
                Ok(Endpoint::Tcp(rest.to_owned()))
            }
            "unix" if !rest.is_empty() => Ok(Endpoint::Unix(PathBuf::from(rest))),
            "serial" if !rest.is_empty() => Ok(Endpoint::Serial(PathBuf::from(rest))),
            _ => Err(error()),
        }
    }
}

impl fmt::Display for Endpoint {
    /// The same spelling [`FromStr`] reads: `tcp:127.0.0.1:7000`, `unix:/run/x.sock`,
    /// `serial:/dev/ttyACM0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(address) => write!(f, "tcp:{address}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Serial(device) => write!(f, "serial:{}", device.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_back_as_written() {
        for text in [
            "tcp:127.0.0.1:0",
            "tcp:localhost:7000",
            "tcp:[::1]:4000",
            "unix:/run/rep.sock",
            "serial:/dev/ttyACM0",
        ] {
            let endpoint: Endpoint = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(endpoint.to_string(), text);
        }
        assert_eq!(
            "tcp:[::1]:4000".parse(),
            Ok(Endpoint::Tcp("[::1]:4000".into()))
        );
    }

    #[test]
    fn malformed_endpoints_name_the_spellings() {
        for text in [
            "",
            "tcp",
            "tcp:127.0.0.1",
            "tcp::80",
            "tcp:h:99999",
            "unix:",
            "serial:",
            "udp:h:1",
            "127.0.0.1:7000",
        ] {
            let error = text.parse::<Endpoint>().unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("tcp:HOST:PORT, unix:PATH or serial:DEVICE"),
                "{text}: {error}"
            );
        }
    }
}
