//! Lexer and parser of the query language.
//!
//! Grammar (set operators are left-associative and share one precedence, as
//! in Bazel):
//!
//! ```text
//! expr    := primary (op primary)*
//! op      := '+' | 'union' | '-' | 'except' | '^' | 'intersect'
//! primary := word | word '(' [expr (',' expr)*] ')' | '(' expr ')'
//! ```

use std::fmt;

use regex::Regex;

/// A syntax error at a 1-based column counted in chars.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        ParseError {
            column,
            message: message.into(),
        }
    }

    /// The query on one line and a caret under the column, followed by the
    /// message, on the next.
    pub fn render(&self, source: &str) -> String {
        // Reuse the source's own tabs so the caret lines up in a terminal.
        let pad: String = source
            .chars()
            .chain(std::iter::repeat(' '))
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{source}\n{pad}^ {}", self.message)
    }
}

/// One of the three set operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Except,
    Intersect,
}

impl fmt::Display for SetOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetOp::Union => "+",
            SetOp::Except => "-",
            SetOp::Intersect => "^",
        })
    }
}

/// The package classes `kind(...)` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `package main` that is not a test main.
    Main,
    /// A test variant or a test main.
    Test,
    /// A standard-library package.
    Std,
    /// A non-std, non-test library package of a dependency module.
    Module,
    /// A non-main, non-test package of a main module.
    Lib,
}

impl Kind {
    fn from_word(word: &str) -> Option<Kind> {
        Some(match word {
            "main" => Kind::Main,
            "test" => Kind::Test,
            "std" => Kind::Std,
            "module" => Kind::Module,
            "lib" => Kind::Lib,
            _ => return None,
        })
    }
}

/// A compiled regex; compared by its source so `Expr` can be `PartialEq`.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// A parsed query. `reach(X, Y)` parses to `Allpaths` since it is defined
/// as exactly that.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A label, pattern, import path, `std`, or quoted string.
    Word(String),
    Deps {
        of: Box<Expr>,
        depth: Option<u32>,
    },
    Rdeps {
        universe: Box<Expr>,
        of: Box<Expr>,
        depth: Option<u32>,
    },
    Somepath(Box<Expr>, Box<Expr>),
    Allpaths(Box<Expr>, Box<Expr>),
    Shared(Box<Expr>, Box<Expr>),
    Kind(Kind, Box<Expr>),
    Filter(Pattern, Box<Expr>),
    Modules(Box<Expr>),
    Cut(Box<Expr>),
    /// `GOOS/GOARCH`.
    Platform(String, Box<Expr>),
    /// Tags added to the context, in the order written.
    Tags(Vec<String>, Box<Expr>),
    Set(SetOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    LParen,
    RParen,
    Comma,
    Op(SetOp),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    column: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || "/._-~+@:".contains(c)
}

fn op_char(c: char) -> Option<SetOp> {
    match c {
        '+' => Some(SetOp::Union),
        '-' => Some(SetOp::Except),
        '^' => Some(SetOp::Intersect),
        _ => None,
    }
}

fn keyword(word: &str) -> Option<SetOp> {
    match word {
        "union" => Some(SetOp::Union),
        "except" => Some(SetOp::Except),
        "intersect" => Some(SetOp::Intersect),
        _ => None,
    }
}

/// Splits the source into tokens, ending with `Tok::End`.
fn lex(source: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        // A `+`/`-` that starts a token is an operator: that is what makes
        // `a -b` a difference while `go-cmp` stays one word.
        let (tok, next) = if c.is_whitespace() {
            i += 1;
            continue;
        } else if let Some(op) = op_char(c) {
            (Tok::Op(op), i + 1)
        } else if c == '(' {
            (Tok::LParen, i + 1)
        } else if c == ')' {
            (Tok::RParen, i + 1)
        } else if c == ',' {
            (Tok::Comma, i + 1)
        } else if c == '"' || c == '\'' {
            lex_quoted(&chars, i)?
        } else if is_word_char(c) {
            let end = (i..chars.len())
                .find(|&j| !is_word_char(chars[j]))
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            let tok = keyword(&word).map_or(Tok::Word(word), Tok::Op);
            (tok, end)
        } else {
            return Err(ParseError::new(
                column,
                format!("unexpected character '{c}'"),
            ));
        };
        tokens.push(Token { tok, column });
        i = next;
    }
    tokens.push(Token {
        tok: Tok::End,
        column: chars.len() + 1,
    });
    Ok(tokens)
}

/// Reads a string quoted by `chars[start]`. Only `\\` and an escaped quote
/// are unescaped, so regex escapes such as `\.` pass through untouched.
fn lex_quoted(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((Tok::Quoted(text), i + 1)),
            '\\' if i + 1 < chars.len() && (chars[i + 1] == quote || chars[i + 1] == '\\') => {
                text.push(chars[i + 1]);
                i += 2;
                continue;
            }
            c => text.push(c),
        }
        i += 1;
    }
    Err(ParseError::new(start + 1, "unterminated string"))
}

/// Parses a whole query.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser {
        tokens: lex(source)?,
        pos: 0,
    };
    let expr = parser.expr()?;
    let end = parser.peek();
    match &end.tok {
        Tok::End => Ok(expr),
        tok => Err(ParseError::new(
            end.column,
            format!(
                "expected an operator or the end of the query, found {}",
                describe(tok)
            ),
        )),
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("word '{w}'"),
        Tok::Quoted(w) => format!("string \"{w}\""),
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
        Tok::Comma => "','".to_string(),
        Tok::Op(op) => format!("operator '{op}'"),
        Tok::End => "the end of the query".to_string(),
    }
}

/// An argument of a call, with the column it starts at for error messages.
struct Arg {
    expr: Expr,
    column: usize,
}

/// The function being called, for arity messages.
struct Callee<'a> {
    name: &'a str,
    column: usize,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends with `End` and `bump` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        token
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.primary()?;
        while let Tok::Op(op) = self.peek().tok {
            self.bump();
            let rhs = self.primary()?;
            lhs = Expr::Set(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let token = self.bump();
        match token.tok {
            Tok::Word(word) if self.peek().tok == Tok::LParen => {
                // Name the unknown function before any error in its arguments.
                if !FUNCTIONS.contains(&word.as_str()) {
                    return Err(unknown_function(&word, token.column));
                }
                self.bump();
                let args = self.args()?;
                let callee = Callee {
                    name: &word,
                    column: token.column,
                };
                build_call(&callee, args)
            }
            Tok::Word(word) | Tok::Quoted(word) => Ok(Expr::Word(word)),
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect_close()?;
                Ok(inner)
            }
            Tok::End => Err(ParseError::new(
                token.column,
                "unexpected end of the query, expected an expression",
            )),
            tok => Err(ParseError::new(
                token.column,
                format!("expected an expression, found {}", describe(&tok)),
            )),
        }
    }

    fn expect_close(&mut self) -> Result<(), ParseError> {
        let token = self.bump();
        match token.tok {
            Tok::RParen => Ok(()),
            tok => Err(ParseError::new(
                token.column,
                format!("expected ')', found {}", describe(&tok)),
            )),
        }
    }

    /// Parses call arguments after the opening parenthesis, through `)`.
    fn args(&mut self) -> Result<Vec<Arg>, ParseError> {
        let mut args = Vec::new();
        if self.peek().tok == Tok::RParen {
            self.bump();
            return Ok(args);
        }
        loop {
            let column = self.peek().column;
            let expr = self.expr()?;
            args.push(Arg { expr, column });
            let token = self.bump();
            match token.tok {
                Tok::Comma => {}
                Tok::RParen => return Ok(args),
                tok => {
                    return Err(ParseError::new(
                        token.column,
                        format!("expected ',' or ')', found {}", describe(&tok)),
                    ));
                }
            }
        }
    }
}

const FUNCTIONS: &[&str] = &[
    "deps", "rdeps", "somepath", "allpaths", "reach", "shared", "modules", "cut", "kind", "filter",
    "platform", "tags",
];

fn unknown_function(name: &str, column: usize) -> ParseError {
    ParseError::new(column, format!("unknown function '{name}'"))
}

fn arity_error(callee: &Callee, min: usize, max: usize, got: usize) -> ParseError {
    let want = match (min, max) {
        (1, 1) => "1 argument".to_string(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, b) => format!("{a} or {b} arguments"),
    };
    ParseError::new(
        callee.column,
        format!("{} takes {want}, got {got}", callee.name),
    )
}

fn fixed<const N: usize>(callee: &Callee, args: Vec<Arg>) -> Result<[Arg; N], ParseError> {
    let got = args.len();
    args.try_into().map_err(|_| arity_error(callee, N, N, got))
}

/// N arguments and an optional last one (a depth).
fn optional<const N: usize>(
    callee: &Callee,
    mut args: Vec<Arg>,
) -> Result<([Arg; N], Option<Arg>), ParseError> {
    let got = args.len();
    let extra = if got == N + 1 { args.pop() } else { None };
    let fixed = args
        .try_into()
        .map_err(|_| arity_error(callee, N, N + 1, got))?;
    Ok((fixed, extra))
}

fn build_call(callee: &Callee, args: Vec<Arg>) -> Result<Expr, ParseError> {
    let expr = match callee.name {
        "deps" => {
            let ([of], depth) = optional::<1>(callee, args)?;
            Expr::Deps {
                of: Box::new(of.expr),
                depth: depth.map(|d| depth_arg(&d)).transpose()?,
            }
        }
        "rdeps" => {
            let ([universe, of], depth) = optional::<2>(callee, args)?;
            Expr::Rdeps {
                universe: Box::new(universe.expr),
                of: Box::new(of.expr),
                depth: depth.map(|d| depth_arg(&d)).transpose()?,
            }
        }
        "somepath" | "allpaths" | "reach" | "shared" => {
            let [a, b] = fixed::<2>(callee, args)?;
            let (a, b) = (Box::new(a.expr), Box::new(b.expr));
            match callee.name {
                "somepath" => Expr::Somepath(a, b),
                "shared" => Expr::Shared(a, b),
                _ => Expr::Allpaths(a, b),
            }
        }
        "modules" | "cut" => {
            let [x] = fixed::<1>(callee, args)?;
            let x = Box::new(x.expr);
            if callee.name == "cut" {
                Expr::Cut(x)
            } else {
                Expr::Modules(x)
            }
        }
        _ => return build_word_call(callee, args),
    };
    Ok(expr)
}

/// The functions whose first argument is a word: kind, filter, platform, tags.
fn build_word_call(callee: &Callee, args: Vec<Arg>) -> Result<Expr, ParseError> {
    let [first, x] = fixed::<2>(callee, args)?;
    let word = word_arg(&first)?;
    let x = Box::new(x.expr);
    let bad = |message: String| ParseError::new(first.column, message);
    Ok(match callee.name {
        "kind" => match Kind::from_word(word) {
            Some(kind) => Expr::Kind(kind, x),
            None => {
                return Err(bad(format!(
                    "unknown kind '{word}', expected main, test, std, module or lib"
                )));
            }
        },
        "filter" => match Regex::new(word) {
            Ok(re) => Expr::Filter(Pattern(re), x),
            Err(e) => return Err(bad(format!("invalid regex: {e}"))),
        },
        "platform" => match word.split_once('/') {
            Some((os, arch)) if !os.is_empty() && !arch.is_empty() && !arch.contains('/') => {
                Expr::Platform(word.to_string(), x)
            }
            _ => return Err(bad(format!("expected GOOS/GOARCH, found '{word}'"))),
        },
        "tags" => {
            let tags: Vec<String> = word
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            if tags.is_empty() {
                return Err(bad("expected comma-separated build tags".to_string()));
            }
            Expr::Tags(tags, x)
        }
        _ => return Err(unknown_function(callee.name, callee.column)),
    })
}

fn word_arg(arg: &Arg) -> Result<&str, ParseError> {
    match &arg.expr {
        Expr::Word(word) => Ok(word),
        _ => Err(ParseError::new(arg.column, "expected a word here")),
    }
}

fn depth_arg(arg: &Arg) -> Result<u32, ParseError> {
    word_arg(arg)?
        .parse()
        .map_err(|_| ParseError::new(arg.column, "depth must be a non-negative integer"))
}
