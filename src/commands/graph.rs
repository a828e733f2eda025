//! `tfw graph`: the resource graph as SVG (or DOT). Graphviz is used when installed; without
//! it, the graph is laid out by the pure-Rust `layout-rs`, so an SVG is always produced.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use crate::cli::{GraphArgs, GraphFormat};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::runner::Output;

pub(super) fn run(ctx: &Context, args: &GraphArgs) -> Result<ExitCode> {
    let local = crate::session::Local::open(ctx)?;
    if let Some(code) = local.init_if_needed(true)? {
        return Ok(code);
    }
    let mut tf: Vec<OsString> = vec!["graph".into()];
    tf.extend(args.pass.args.iter().map(OsString::from));
    let outcome = local.terraform(tf, Output::CaptureStdout)?;
    if !outcome.success() {
        return Ok(outcome.exit_code());
    }
    let dot = outcome.stdout;
    let bytes = match args.format {
        GraphFormat::Dot => dot.into_bytes(),
        GraphFormat::Svg => match graphviz(&dot) {
            Some(svg) => svg,
            None => {
                ctx.printer
                    .debug("Graphviz `dot` not found: laying the graph out with layout-rs");
                render_svg(&dot).into_bytes()
            }
        },
    };
    let default = match args.format {
        GraphFormat::Svg => "graph.svg",
        GraphFormat::Dot => "graph.dot",
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(default));
    if output.as_os_str() == "-" {
        ctx.printer.out_bytes(&bytes)?;
    } else {
        let path = ctx.dir().join(&output);
        crate::fsutil::write_atomic(&path, &bytes, 0o644)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        ctx.printer.status(&format!("Wrote `{}`", output.display()));
    }
    Ok(ExitCode::Success)
}

fn graphviz(dot: &str) -> Option<Vec<u8>> {
    let program = which::which("dot").ok()?;
    let mut child = Command::new(program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(dot.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    output.status.success().then_some(output.stdout)
}

/// Terraform's DOT nests everything in `subgraph "root"`, which layout-rs cannot parse, so
/// nodes and edges are read from its (regular) lines and the graph is built directly.
pub(super) fn render_svg(dot: &str) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::geometry::Point;
    use layout::core::style::StyleAttr;
    use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
    use layout::topo::layout::VisualGraph;

    let (nodes, edges) = parse_dot(dot);
    if nodes.is_empty() {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"40\"><text x=\"10\" y=\"25\">empty graph</text></svg>\n".into();
    }
    let mut graph = VisualGraph::new(Orientation::TopToBottom);
    let mut handles = std::collections::HashMap::new();
    for (id, label) in &nodes {
        let width = 12.0 * label.chars().count() as f64 + 30.0;
        let element = Element::create(
            ShapeKind::new_box(label),
            StyleAttr::simple(),
            Orientation::TopToBottom,
            Point::new(width, 40.0),
        );
        handles.insert(id.clone(), graph.add_node(element));
    }
    for (from, to) in &edges {
        if let (Some(a), Some(b)) = (handles.get(from), handles.get(to)) {
            graph.add_edge(Arrow::simple(""), *a, *b);
        }
    }
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    svg.finalize()
}

type Nodes = Vec<(String, String)>;
type Edges = Vec<(String, String)>;

fn parse_dot(dot: &str) -> (Nodes, Edges) {
    let mut nodes: Nodes = Vec::new();
    let mut edges: Edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        let quoted = quoted_strings(line);
        if line.contains("->") && quoted.len() >= 2 {
            edges.push((quoted[0].clone(), quoted[1].clone()));
            for id in &quoted[..2] {
                if !nodes.iter().any(|(n, _)| n == id) {
                    nodes.push((id.clone(), short_label(id)));
                }
            }
        } else if line.starts_with('"') && line.contains('[') && !quoted.is_empty() {
            let id = quoted[0].clone();
            let label = line
                .split("label")
                .nth(1)
                .and_then(|rest| quoted_strings(rest).into_iter().next())
                .unwrap_or_else(|| short_label(&id));
            match nodes.iter_mut().find(|(n, _)| *n == id) {
                Some(node) => node.1 = label,
                None => nodes.push((id, label)),
            }
        }
    }
    (nodes, edges)
}

fn short_label(id: &str) -> String {
    id.trim_start_matches("[root] ").to_string()
}

fn quoted_strings(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut escaped = false;
    for c in line.chars() {
        match (&mut current, c) {
            (Some(s), '\\') if !escaped => {
                escaped = true;
                s.push(c);
                continue;
            }
            (Some(_), '"') if !escaped => out.push(current.take().unwrap_or_default()),
            (Some(s), c) => s.push(c),
            (None, '"') => current = Some(String::new()),
            (None, _) => {}
        }
        escaped = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_terraform_dot() {
        let dot = "digraph {\n\tcompound = \"true\"\n\tsubgraph \"root\" {\n\t\t\"[root] output.a\" [label = \"output.a\", shape = \"note\"]\n\t\t\"[root] var.x\" [label = \"var.x\", shape = \"note\"]\n\t\t\"[root] output.a\" -> \"[root] var.x\"\n\t}\n}\n";
        let svg = render_svg(dot);
        assert!(svg.contains("<svg"));
        assert!(svg.contains("output.a"));
    }
}
