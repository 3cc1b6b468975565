//! SCIM filters (RFC 7644 §3.4.2.2): parse `userName eq "a@b.c" and active eq true` into a
//! tree, and evaluate it against a resource's attributes. Attribute names are compared without
//! case, as SCIM says; string comparisons too (`caseExact` is false for every attribute here).

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr op value`; the attribute path lower-cased (`emails.value`).
    Compare(String, Op, Value),
    /// `attr pr`.
    Present(String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// The longest filter accepted, and how deep parentheses may nest.
const MAX_LEN: usize = 2000;
const MAX_DEPTH: usize = 16;

fn invalid(detail: impl Into<String>) -> Error {
    Error::invalid("filter", detail)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokens(s: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err(invalid("A quoted value is not closed.")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '/')) => v.push(e),
                            Some('n') => v.push('\n'),
                            Some('t') => v.push('\t'),
                            _ => return Err(invalid("An escape in a quoted value is not valid.")),
                        },
                        Some(c) => v.push(c),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Filter> {
        let mut left = self.and()?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut left = self.unary()?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if self.toks.get(self.pos) == Some(&Tok::Open) {
            return self.group();
        }
        self.compare()
    }

    fn group(&mut self) -> Result<Filter> {
        if self.toks.get(self.pos) != Some(&Tok::Open) {
            return Err(invalid("Expected \"(\"."));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid("The filter nests too deeply."));
        }
        self.pos += 1;
        let f = self.or()?;
        if self.toks.get(self.pos) != Some(&Tok::Close) {
            return Err(invalid("A \"(\" is not closed."));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(f)
    }

    fn compare(&mut self) -> Result<Filter> {
        let Some(Tok::Word(attr)) = self.toks.get(self.pos).cloned() else {
            return Err(invalid("Expected an attribute name."));
        };
        self.pos += 1;
        let attr = attr.to_ascii_lowercase();
        let attr = attr
            .strip_prefix("urn:ietf:params:scim:schemas:core:2.0:user:")
            .map(str::to_string)
            .unwrap_or(attr);
        let Some(op) = self.peek_word() else {
            return Err(invalid(format!("Expected an operator after {attr}.")));
        };
        self.pos += 1;
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(attr)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(invalid(format!("{other:?} is not a SCIM operator."))),
        };
        let value = match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => Value::Str(s),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                n => n
                    .parse::<f64>()
                    .map(Value::Num)
                    .map_err(|_| invalid(format!("{w:?} is not a value; quote strings.")))?,
            },
            _ => return Err(invalid(format!("Expected a value after {attr}."))),
        };
        self.pos += 1;
        Ok(Filter::Compare(attr, op, value))
    }
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter> {
        if s.len() > MAX_LEN {
            return Err(invalid("The filter is too long."));
        }
        let mut p = Parser {
            toks: tokens(s)?,
            pos: 0,
            depth: 0,
        };
        let f = p.or()?;
        if p.pos != p.toks.len() {
            return Err(invalid("Something follows the end of the filter."));
        }
        Ok(f)
    }

    /// Whether a resource matches; `get` gives the values of an attribute path (lower-case).
    pub fn matches(&self, get: &dyn Fn(&str) -> Vec<Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(get) && b.matches(get),
            Filter::Or(a, b) => a.matches(get) || b.matches(get),
            Filter::Not(a) => !a.matches(get),
            Filter::Present(attr) => get(attr)
                .iter()
                .any(|v| !matches!(v, Value::Null) && *v != Value::Str(String::new())),
            Filter::Compare(attr, op, want) => {
                let values = get(attr);
                if *op == Op::Ne {
                    return !values.iter().any(|v| compare(v, Op::Eq, want));
                }
                values.iter().any(|v| compare(v, *op, want))
            }
        }
    }

    /// `attr eq "value"` alone, when it is that (for an indexed lookup).
    pub fn as_eq(&self) -> Option<(&str, &str)> {
        match self {
            Filter::Compare(a, Op::Eq, Value::Str(v)) => Some((a, v)),
            _ => None,
        }
    }
}

fn compare(have: &Value, op: Op, want: &Value) -> bool {
    match (have, want) {
        (Value::Str(h), Value::Str(w)) => {
            let (h, w) = (h.to_lowercase(), w.to_lowercase());
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
            }
        }
        (Value::Bool(h), Value::Bool(w)) => match op {
            Op::Eq => h == w,
            Op::Ne => h != w,
            _ => false,
        },
        (Value::Num(h), Value::Num(w)) => match op {
            Op::Eq => h == w,
            Op::Ne => h != w,
            Op::Gt => h > w,
            Op::Ge => h >= w,
            Op::Lt => h < w,
            Op::Le => h <= w,
            _ => false,
        },
        (Value::Null, Value::Null) => op == Op::Eq,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(attr: &str) -> Vec<Value> {
        match attr {
            "username" => vec![Value::Str("Ann@Example.com".into())],
            "emails.value" => vec![Value::Str("ann@example.com".into())],
            "externalid" => vec![Value::Str("00u1".into())],
            "active" => vec![Value::Bool(true)],
            "name.familyname" => vec![Value::Str("Lee".into())],
            _ => vec![],
        }
    }

    #[test]
    fn filters_parse_and_match_like_identity_providers_send_them() {
        for (f, want) in [
            (r#"userName eq "ann@example.com""#, true),
            (r#"emails.value eq "ANN@example.com""#, true),
            (r#"externalId eq "00u1" and active eq true"#, true),
            (r#"externalId eq "nope" or userName sw "ann""#, true),
            (r#"(externalId eq "nope") or (active eq false)"#, false),
            (r#"not (active eq false)"#, true),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ann@example.com""#,
                true,
            ),
            (r#"name.familyName co "e" and title pr"#, false),
            (r#"userName ne "ann@example.com""#, false),
            (r#"externalId pr"#, true),
        ] {
            let parsed = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}"));
            assert_eq!(parsed.matches(&user), want, "{f}");
        }
        for bad in [
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"userName eq "a"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" junk"#,
            "userName eq bare",
            &"(".repeat(40),
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Filter::parse(r#"userName eq "x""#).unwrap().as_eq(),
            Some(("username", "x"))
        );
    }
}
