//! A small, strict argument parser: `--flag`, `--opt VALUE`, positionals.

use super::Failure;

pub(crate) struct Args {
    rest: Vec<String>,
}

impl Args {
    pub(crate) fn new(args: &[String]) -> Self {
        Self {
            rest: args.to_vec(),
        }
    }

    /// Removes `--name` and reports whether it was there.
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        before != self.rest.len()
    }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns the value.
    pub(crate) fn value(&mut self, name: &str) -> Result<Option<String>, Failure> {
        let prefix = format!("{name}=");
        if let Some(i) = self.rest.iter().position(|a| a.starts_with(&prefix)) {
            let a = self.rest.remove(i);
            return Ok(Some(a[prefix.len()..].to_string()));
        }
        match self.rest.iter().position(|a| a == name) {
            None => Ok(None),
            Some(i) if i + 1 < self.rest.len() => {
                self.rest.remove(i);
                Ok(Some(self.rest.remove(i)))
            }
            Some(_) => Err(Failure::Usage(format!("{name} needs a value"))),
        }
    }

    /// Removes every `--name VALUE` and `--name=VALUE`, and returns the values
    /// in command-line order (for repeatable options).
    pub(crate) fn values(&mut self, name: &str) -> Result<Vec<String>, Failure> {
        let prefix = format!("{name}=");
        let mut values = Vec::new();
        let mut rest = Vec::new();
        let mut args = std::mem::take(&mut self.rest).into_iter();
        while let Some(a) = args.next() {
            if a == name {
                let value = args
                    .next()
                    .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))?;
                values.push(value);
            } else if let Some(value) = a.strip_prefix(&prefix) {
                values.push(value.to_string());
            } else {
                rest.push(a);
            }
        }
        self.rest = rest;
        Ok(values)
    }

    /// The remaining positionals; any leftover `--option` is an error.
    pub(crate) fn positionals(self) -> Result<Vec<String>, Failure> {
        if let Some(bad) = self.rest.iter().find(|a| a.starts_with("--")) {
            return Err(Failure::Usage(format!("unknown option `{bad}`")));
        }
        Ok(self.rest)
    }
}

pub(crate) fn expect_no_more(args: &[String]) -> Result<(), String> {
    match args.first() {
        None => Ok(()),
        Some(a) => Err(format!("unexpected argument `{a}`")),
    }
}
