//! Which key: an object label, or an RFC 7512 `pkcs11:` URI.
//!
//! Parsing only (no token is touched): [`KeySpec::parse`] turns what an
//! operator wrote into the attributes a token and a key must match.

use std::fmt;

/// The token and private key to use, as [`KeySpec::parse`] read them. Every
/// field that is `Some` must match; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySpec {
    /// The token's label (`token=`).
    pub token: Option<String>,
    /// The token's manufacturer (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// The token's model (`model=`).
    pub model: Option<String>,
    /// The token's serial number (`serial=`).
    pub serial: Option<String>,
    /// The slot's number (`slot-id=`, decimal).
    pub slot_id: Option<u64>,
    /// The key's `CKA_LABEL` (`object=`, or a plain label).
    pub object: Option<Vec<u8>>,
    /// The key's `CKA_ID` (`id=`, usually percent-encoded bytes).
    pub id: Option<Vec<u8>>,
}

/// Why a key name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn refuse<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

impl KeySpec {
    /// Reads `pkcs11:PATH[?QUERY]` (RFC 7512) or, without the scheme, a plain
    /// object label (the key's `CKA_LABEL`, on whichever token holds it).
    ///
    /// Path attributes understood: `token`, `manufacturer`, `model`, `serial`,
    /// `slot-id`, `object`, `id` and `type` (which must be `private`: the key
    /// is a private key). Values are percent-decoded (RFC 7512 §2.3). An
    /// attribute this parser does not know, or one given twice, is refused
    /// rather than ignored: ignoring it could select another key than the
    /// operator meant.
    ///
    /// `pin-value` and `pin-source` are refused: a PIN on the command line is
    /// visible to every user of the machine (`ps`), so the PIN comes from an
    /// environment variable or a file instead. `module-name`/`module-path` are
    /// refused too: the module is given on its own.
    pub fn parse(text: &str) -> Result<KeySpec, SpecError> {
        let Some(rest) = strip_scheme(text) else {
            if text.is_empty() {
                return refuse("the key's label is empty");
            }
            return Ok(KeySpec {
                object: Some(text.as_bytes().to_vec()),
                ..KeySpec::default()
            });
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if let Some(query) = query {
            // Every query attribute is refused; the first one is named.
            if let Some(attr) = query.split('&').find(|a| !a.is_empty()) {
                let name = attr.split_once('=').map_or(attr, |(name, _)| name);
                return match name {
                    "pin-value" | "pin-source" => refuse(format!(
                        "{name} in a pkcs11: URI is refused: a PIN on the command line is \
                         visible to other users; give it in an environment variable or a file"
                    )),
                    "module-name" | "module-path" => refuse(format!(
                        "{name} in a pkcs11: URI is refused: give the module on its own"
                    )),
                    _ => refuse(format!(
                        "unknown query attribute `{name}` in the pkcs11: URI"
                    )),
                };
            }
        }
        let mut spec = KeySpec::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let Some((name, value)) = attr.split_once('=') else {
                return refuse(format!("`{attr}` in the pkcs11: URI is not NAME=VALUE"));
            };
            let value = percent_decode(value)?;
            let text = || {
                String::from_utf8(value.clone())
                    .map_err(|_| SpecError(format!("{name}= in the pkcs11: URI is not UTF-8")))
            };
            match name {
                "token" => set(&mut spec.token, text()?, name)?,
                "manufacturer" => set(&mut spec.manufacturer, text()?, name)?,
                "model" => set(&mut spec.model, text()?, name)?,
                "serial" => set(&mut spec.serial, text()?, name)?,
                "object" => set(&mut spec.object, value, name)?,
                "id" => set(&mut spec.id, value, name)?,
                "slot-id" => {
                    let id = text()?.parse::<u64>().map_err(|_| {
                        SpecError("slot-id= in the pkcs11: URI is not a decimal number".into())
                    })?;
                    set(&mut spec.slot_id, id, name)?
                }
                "type" => match text()?.as_str() {
                    "private" => (),
                    other => {
                        return refuse(format!(
                            "type={other} in the pkcs11: URI: the key must be type=private"
                        ));
                    }
                },
                _ => return refuse(format!("unknown attribute `{name}` in the pkcs11: URI")),
            }
        }
        if spec.object.is_none() && spec.id.is_none() {
            return refuse("the pkcs11: URI names no key: give object= or id=");
        }
        Ok(spec)
    }
}

/// The text after `pkcs11:` (the scheme is case-insensitive, RFC 3986 §3.1).
fn strip_scheme(text: &str) -> Option<&str> {
    let scheme = text.get(..7)?;
    scheme.eq_ignore_ascii_case("pkcs11:").then(|| &text[7..])
}

fn set<T>(field: &mut Option<T>, value: T, name: &str) -> Result<(), SpecError> {
    if field.replace(value).is_some() {
        return refuse(format!("{name}= appears twice in the pkcs11: URI"));
    }
    Ok(())
}

/// RFC 3986 §2.1 percent-decoding; a `%` not followed by two hex digits is refused.
fn percent_decode(text: &str) -> Result<Vec<u8>, SpecError> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = bytes.next().and_then(hex);
        let lo = bytes.next().and_then(hex);
        match hi.zip(lo) {
            Some((hi, lo)) => out.push(hi << 4 | lo),
            None => return refuse("a `%` in the pkcs11: URI is not followed by two hex digits"),
        }
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_label_names_the_object() {
        let spec = KeySpec::parse("web key").unwrap();
        assert_eq!(spec.object.as_deref(), Some(&b"web key"[..]));
        assert_eq!(spec.token, None);
        assert!(KeySpec::parse("").is_err());
    }

    #[test]
    fn uri_attributes_are_percent_decoded() {
        let spec =
            KeySpec::parse("pkcs11:token=My%20Token;object=web;id=%01%a2;type=private;slot-id=7")
                .unwrap();
        assert_eq!(spec.token.as_deref(), Some("My Token"));
        assert_eq!(spec.object.as_deref(), Some(&b"web"[..]));
        assert_eq!(spec.id.as_deref(), Some(&[1u8, 0xa2][..]));
        assert_eq!(spec.slot_id, Some(7));
        assert_eq!(
            KeySpec::parse("PKCS11:id=%00").unwrap().id.as_deref(),
            Some(&[0u8][..])
        );
    }

    #[test]
    fn pins_and_unknown_or_ambiguous_attributes_are_refused() {
        for bad in [
            "pkcs11:object=k?pin-value=1234",
            "pkcs11:object=k?pin-source=file:/p",
            "pkcs11:object=k?module-path=/x.so",
            "pkcs11:object=k?frobnicate=1",
            "pkcs11:object=k;colour=red",
            "pkcs11:object=k;object=j",
            "pkcs11:object=k;type=cert",
            "pkcs11:object=k;slot-id=x",
            "pkcs11:object=%4",
            "pkcs11:object=%zz",
            "pkcs11:object",
            "pkcs11:token=t",
            "pkcs11:",
        ] {
            assert!(KeySpec::parse(bad).is_err(), "{bad}");
        }
        let msg = KeySpec::parse("pkcs11:object=k?pin-value=1").unwrap_err().0;
        assert!(msg.contains("visible to other users"), "{msg}");
    }
}
