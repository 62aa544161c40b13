// Package ruleset reads nftables rulesets: a hand-written lexer and
// recursive-descent parser for the nft language, an AST, and a printer
// that reproduces what `nft list ruleset` (nft 1.0.6) prints after loading
// the file into an empty kernel ruleset.
//
// The pipeline is:
//
//  1. lex (lexer.go): bytes to tokens with file:line:col positions;
//  2. preprocess (preprocess.go): `include` (globbing, relative to the
//     including file) and `define`/`$var` expansion, at the token level as
//     nft does;
//  3. parse (parser*.go): tokens to a File of Commands; table blocks and
//     add/insert/replace/delete/create/flush commands alike;
//  4. apply (apply.go): run the commands against an empty Ruleset, giving
//     tables with chains, sets, objects and rules, and kernel-style handles;
//  5. print (print*.go): the `nft list ruleset` text, with the kernel's
//     normalisations (dependency removal, canonical values, set element
//     sorting).
//
// Errors are *Error values (inside an ErrorList) carrying File, Line, Col
// and the source line, printed with a caret under the fault.
//
// Evaluation is not done here yet; expressions are typed nodes (Selector,
// Value, Prefix, Range, SetExpr, ...) with positions so that a compiler can
// walk them. Statements this parser does not model yet become RawStmt and
// are reported as unsupported by the tests.
//
// Nothing in this package is safe for concurrent mutation; a parsed File
// or applied Ruleset may be read from many goroutines.
package ruleset
