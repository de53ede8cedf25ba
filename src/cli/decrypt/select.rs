//! `--session N` and `--direction client|server`: which connection's lines
//! and whose application data are shown.

use rsatls::capture::FlowId;
use rsatls::passive::Direction;

use super::super::opts::DecryptDirection;

/// The choice of `--session` and `--direction`; either may be absent (all).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Selector {
    pub(super) session: Option<u64>,
    pub(super) direction: Option<DecryptDirection>,
}

impl Selector {
    /// Whether anything of connection `flow` is shown.
    pub(super) fn session(&self, flow: FlowId) -> bool {
        self.session.is_none_or(|n| n == flow.0)
    }

    /// Whether data sent `from` on `flow` is shown.
    pub(super) fn data(&self, flow: FlowId, from: Direction) -> bool {
        let direction = match self.direction {
            None => true,
            Some(DecryptDirection::Client) => from == Direction::ClientToServer,
            Some(DecryptDirection::Server) => from == Direction::ServerToClient,
        };
        self.session(flow) && direction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects() {
        let all = Selector::default();
        assert!(all.data(FlowId(7), Direction::ServerToClient));
        let one = Selector {
            session: Some(2),
            direction: Some(DecryptDirection::Client),
        };
        assert!(one.session(FlowId(2)) && !one.session(FlowId(1)));
        assert!(one.data(FlowId(2), Direction::ClientToServer));
        assert!(!one.data(FlowId(2), Direction::ServerToClient));
        assert!(!one.data(FlowId(3), Direction::ClientToServer));
        let server = Selector {
            session: None,
            direction: Some(DecryptDirection::Server),
        };
        assert!(server.data(FlowId(3), Direction::ServerToClient));
        assert!(!server.data(FlowId(3), Direction::ClientToServer));
    }
}
