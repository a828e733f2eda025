//! A GraphQL query's text as the fields it selects, with their aliases, arguments (literal or
//! `$variables`) and selections: what the test server needs to answer exactly the selected
//! fields, as graphql-ruby does.

use serde_json::{Map, Value};

/// A selected field: `alias: name(arguments) { selection }`.
pub(super) struct Field {
    pub key: String,
    pub name: String,
    pub args: Map<String, Value>,
    pub selection: Vec<Field>,
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    variables: &'a Value,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.at < self.text.len() {
            match self.text[self.at] {
                b' ' | b'\n' | b'\r' | b'\t' | b',' => self.at += 1,
                b'#' => {
                    while self.at < self.text.len() && self.text[self.at] != b'\n' {
                        self.at += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        self.at += usize::from(found);
        found
    }

    fn name(&mut self) -> Result<String, String> {
        self.skip();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        if start == self.at {
            return Err(format!("Parse error at offset {start}"));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'$') => {
                self.at += 1;
                let name = self.name()?;
                Ok(self.variables.get(&name).cloned().unwrap_or(Value::Null))
            }
            Some(b'"') => {
                self.at += 1;
                let start = self.at;
                while self.text.get(self.at).is_some_and(|c| *c != b'"') {
                    self.at += 1;
                }
                let text = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                self.at += 1;
                Ok(Value::String(text))
            }
            _ => {
                let word = self.name()?;
                Ok(match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => word.parse::<u64>().map_or(Value::String(word), Value::from),
                })
            }
        }
    }

    fn selection(&mut self) -> Result<Vec<Field>, String> {
        let mut fields = Vec::new();
        if !self.eat(b'{') {
            return Ok(fields);
        }
        while !self.eat(b'}') {
            if self.peek().is_none() {
                return Err("Parse error: unexpected end of query".into());
            }
            let mut key = self.name()?;
            let mut name = key.clone();
            if self.eat(b':') {
                name = self.name()?;
            } else {
                key = name.clone();
            }
            let mut args = Map::new();
            if self.eat(b'(') {
                while !self.eat(b')') {
                    let arg = self.name()?;
                    if !self.eat(b':') {
                        return Err(format!("Parse error in the arguments of {name}"));
                    }
                    args.insert(arg, self.value()?);
                }
            }
            let selection = self.selection()?;
            fields.push(Field {
                key,
                name,
                args,
                selection,
            });
        }
        Ok(fields)
    }
}

/// The operation's selection set: after `query Name($a: T) ` or at once for `{ ... }`.
pub(super) fn parse(query: &str, variables: &Value) -> Result<Vec<Field>, String> {
    let start = query.find('{').ok_or("Parse error: no selection")?;
    // A `{` inside the variable definitions cannot happen (no object defaults used here).
    let mut parser = Parser {
        text: query.as_bytes(),
        at: start,
        variables,
    };
    parser.selection()
}
