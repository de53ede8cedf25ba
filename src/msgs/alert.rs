//! Alert messages (RFC 5246 §7.2).

use crate::codec::Reader;
use crate::error::Error;
use crate::msgs::enums::{AlertDescription, AlertLevel};

/// An alert: level and description, exactly two bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// warning or fatal (other values are kept and treated as fatal).
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// Decodes an alert record's whole payload. rsatls does not accept alerts
    /// fragmented across records or several alerts in one record.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let level = AlertLevel(r.u8("alert level")?);
        let description = AlertDescription(r.u8("alert description")?);
        r.finish("alert record longer than one alert")?;
        Ok(Self { level, description })
    }

    /// The two wire bytes.
    pub fn encode(&self) -> [u8; 2] {
        [self.level.0, self.description.0]
    }
}
