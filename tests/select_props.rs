//! Property tests of selection: every selector form lake supports, on
//! hundreds of seeded random graphs, against sets an oracle computes from
//! the generator's own description of the graph (wildcards and
//! breadth-first walks over plain adjacency lists, written here; nothing
//! of lake's traversal or matching is called).
//!
//! Most graphs go through the library (`build_dag` + `select_nodes`), so
//! thousands of selections run in a second; a few graphs are written out
//! as real projects and listed by the `lake` binary (`lake ls`), which
//! covers the CLI path and checks that the library graphs mirror what
//! rendering a project produces.
//!
//! A failure prints the seed, the graph and the selector; rerun one seed
//! with `SELECT_PROPS_SEED=<seed>`.

mod util;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use lake::graph::build_dag;
use lake::nodes::{Node, NodeKind, Relation};
use lake::project::{Materialization, NodeConfig};
use lake::select::select_nodes;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use util::TempProject;

/// Graphs checked through the library.
const GRAPHS: u64 = 500;
/// Random selections per library graph.
const SELECTIONS: usize = 30;
/// Graphs checked end to end through `lake ls`.
const CLI_GRAPHS: u64 = 5;
/// Random selections per end-to-end graph.
const CLI_SELECTIONS: usize = 8;

// ---------------------------------------------------------------- graphs

/// One generated node as the generator describes it: all the oracle reads.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    kind: NodeKind,
    /// Project-relative file: `models/mart/m3.sql`, `seeds/ref/seed0.csv`,
    /// `models/raw/sources.yml`, `tests/sql/check0.sql`.
    path: String,
    /// Folders then name; sources `[source, table]`; tests `[name]`.
    fqn: Vec<String>,
    tags: Vec<String>,
    /// Models (`view`, `table`, `incremental`) and seeds (`seed`).
    materialized: Option<&'static str>,
    /// Positions (in `Graph::specs`) of the nodes it reads.
    parents: Vec<usize>,
}

/// A generated project graph with both adjacency lists.
struct Graph {
    specs: Vec<Spec>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

/// Model folders under `models/`.
const MODEL_FOLDERS: [&[&str]; 4] = [&[], &["stage"], &["mart"], &["mart", "reports"]];

/// A random graph: 0-3 sources, 0-2 seeds, 1-12 models (one may be
/// `my model`), 0-3 singular tests; each model reads each earlier node
/// with one probability per graph (0: nothing but isolated nodes).
fn generate(rng: &mut ChaCha8Rng) -> Graph {
    let density = [0.0, 0.08, 0.2, 0.4][rng.random_range(0..4)];
    let mut specs = Vec::new();
    for s in 0..rng.random_range(0..=3) {
        let (group, table) = (format!("src{}", s % 2), format!("t{s}"));
        specs.push(Spec {
            name: format!("{group}.{table}"),
            kind: NodeKind::Source,
            path: "models/raw/sources.yml".into(),
            fqn: vec![group, table],
            tags: some_of(rng, &["hourly"]),
            materialized: None,
            parents: Vec::new(),
        });
    }
    for s in 0..rng.random_range(0..=2) {
        let folders: &[&str] = if rng.random_bool(0.5) { &[] } else { &["ref"] };
        specs.push(leaf(
            format!("seed{s}"),
            NodeKind::Seed,
            "seeds",
            folders,
            "csv",
        ));
        specs.last_mut().unwrap().materialized = Some("seed");
    }
    for name in model_names(rng) {
        let folders = MODEL_FOLDERS[rng.random_range(0..MODEL_FOLDERS.len())];
        let mut m = leaf(name, NodeKind::Model, "models", folders, "sql");
        m.parents = (0..specs.len())
            .filter(|_| rng.random_bool(density))
            .collect();
        m.tags = some_of(rng, &["hourly", "pii"]);
        m.materialized = Some(["view", "table", "incremental"][rng.random_range(0..3)]);
        specs.push(m);
    }
    // Tests read sources, seeds and models, never another test.
    let upstream = specs.len();
    for t in 0..rng.random_range(0..=3) {
        let mut test = leaf(format!("check{t}"), NodeKind::Test, "tests/sql", &[], "sql");
        test.fqn = vec![test.name.clone()];
        test.parents = (0..rng.random_range(0..=2))
            .map(|_| rng.random_range(0..upstream))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        specs.push(test);
    }
    Graph::new(specs)
}

impl Graph {
    /// The graph of `specs`, with children lists built from their parents.
    fn new(specs: Vec<Spec>) -> Graph {
        let parents: Vec<Vec<usize>> = specs.iter().map(|s| s.parents.clone()).collect();
        let mut children = vec![Vec::new(); specs.len()];
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(child);
            }
        }
        Graph {
            specs,
            parents,
            children,
        }
    }
}

/// `m0`..`m<n>` in random order (so names say nothing of the order), one
/// of them sometimes `my model`.
fn model_names(rng: &mut ChaCha8Rng) -> Vec<String> {
    let n = rng.random_range(1..=12);
    let mut names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    if rng.random_bool(0.25) {
        names[n - 1] = "my model".into();
    }
    names.shuffle(rng);
    names
}

/// A node without parents, tags or materialization, in `base/folders/`.
fn leaf(name: String, kind: NodeKind, base: &str, folders: &[&str], ext: &str) -> Spec {
    let mut fqn: Vec<String> = folders.iter().map(|f| f.to_string()).collect();
    let dir = std::iter::once(base)
        .chain(folders.iter().copied())
        .collect::<Vec<_>>()
        .join("/");
    let path = format!("{dir}/{name}.{ext}");
    fqn.push(name.clone());
    Spec {
        name,
        kind,
        path,
        fqn,
        tags: Vec::new(),
        materialized: None,
        parents: Vec::new(),
    }
}

/// A random subset of `tags`.
fn some_of(rng: &mut ChaCha8Rng, tags: &[&str]) -> Vec<String> {
    tags.iter()
        .filter(|_| rng.random_bool(0.35))
        .map(|t| t.to_string())
        .collect()
}

fn unique_id(s: &Spec) -> String {
    format!("{}.demo.{}", s.kind.as_str(), s.name)
}

/// The graph as the nodes rendering a project would produce.
fn to_nodes(g: &Graph) -> Vec<Node> {
    g.specs.iter().map(|s| to_node(g, s)).collect()
}

fn to_node(g: &Graph, s: &Spec) -> Node {
    let materialized = match s.materialized {
        Some("table") => Materialization::Table,
        Some("incremental") => Materialization::Incremental,
        Some("seed") => Materialization::Seed,
        _ => Materialization::View,
    };
    let mut depends_on: Vec<String> = s.parents.iter().map(|&p| unique_id(&g.specs[p])).collect();
    depends_on.sort();
    Node {
        unique_id: unique_id(s),
        name: s.name.clone(),
        kind: s.kind,
        path: PathBuf::from(&s.path),
        fqn: s.fqn.clone(),
        relation: (s.kind != NodeKind::Test).then(|| Relation {
            database: "lake".into(),
            schema: s.fqn.first().cloned().unwrap_or_default(),
            identifier: s.name.clone(),
        }),
        config: NodeConfig {
            tags: s.tags.clone(),
            materialized,
            ..NodeConfig::default()
        },
        compiled_sql: None,
        checksum: None,
        attached_node: depends_on.first().cloned(),
        depends_on,
        description: None,
        columns: Vec::new(),
        contract: None,
        relationship: None,
        seed_types: Default::default(),
        stored_failures: None,
        live: None,
    }
}

// ------------------------------------------------------------- selectors

/// How an atom matches, as generated (the value as the user writes it).
#[derive(Debug, Clone)]
enum How {
    /// A bare value: a name, a wildcard, a folder or `folder.sub`.
    Bare(String),
    /// A bare value holding `/`: a path.
    BarePath(String),
    Path(String),
    Tag(String),
    Materialized(String),
    ConfigTag(String),
    Source(String),
    ResourceType(String),
    Fqn(String),
}

/// One generated atom: a method and value, and graph operators.
#[derive(Debug, Clone)]
struct AtomSpec {
    how: How,
    at: bool,
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
}

/// One `--select`/`--exclude` argument.
#[derive(Debug, Clone)]
enum Arg {
    /// Space-separated terms of comma-joined atoms.
    Terms(Vec<Vec<AtomSpec>>),
    /// The whole argument is a name holding a space: that node alone.
    WholeName(String),
}

/// Quotes a value holding a space, as a user must.
fn quoted(v: &str) -> String {
    if v.contains(' ') {
        format!("'{v}'")
    } else {
        v.to_string()
    }
}

impl AtomSpec {
    fn render(&self) -> String {
        let value = match &self.how {
            How::Bare(v) | How::BarePath(v) => quoted(v),
            How::Path(v) => format!("path:{}", quoted(v)),
            How::Tag(v) => format!("tag:{v}"),
            How::Materialized(v) => format!("config.materialized:{v}"),
            How::ConfigTag(v) => format!("config.tags:{v}"),
            How::Source(v) => format!("source:{v}"),
            How::ResourceType(v) => format!("resource_type:{v}"),
            How::Fqn(v) => format!("fqn:{v}"),
        };
        let front = match (self.at, self.parents) {
            (true, _) => "@".to_string(),
            (false, Some(None)) => "+".to_string(),
            (false, Some(Some(n))) => format!("{n}+"),
            (false, None) => String::new(),
        };
        let back = match self.children {
            Some(None) => "+".to_string(),
            Some(Some(n)) => format!("+{n}"),
            None => String::new(),
        };
        format!("{front}{value}{back}")
    }

    /// Labels of the method and operator forms this atom exercises, for
    /// the coverage check.
    fn forms(&self) -> (&'static str, &'static str) {
        let method = match &self.how {
            How::Bare(v) if v.contains(['*', '?']) => "wildcard",
            How::Bare(v) if v.contains(' ') => "quoted name",
            How::Bare(v) if FOLDERS.contains(&v.as_str()) => "folder",
            How::Bare(_) => "name",
            How::BarePath(_) => "bare path",
            How::Path(_) => "path:",
            How::Tag(_) => "tag:",
            How::Materialized(_) => "config.materialized:",
            How::ConfigTag(_) => "config.tags:",
            How::Source(_) => "source:",
            How::ResourceType(_) => "resource_type:",
            How::Fqn(_) => "fqn:",
        };
        let ops = match (self.at, self.parents, self.children) {
            (true, _, None) => "@x",
            (true, _, Some(_)) => "@x+",
            (false, None, None) => "x",
            (false, Some(None), None) => "+x",
            (false, Some(Some(_)), None) => "N+x",
            (false, None, Some(None)) => "x+",
            (false, None, Some(Some(_))) => "x+N",
            (false, Some(None), Some(None)) => "+x+",
            (false, Some(_), Some(_)) => "N+x+M",
        };
        (method, ops)
    }
}

/// Bare values naming folders (`reports` alone names none: an fqn is
/// matched from its start).
const FOLDERS: [&str; 6] = ["stage", "mart", "mart.reports", "ref", "reports", "mart.*"];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A random method and value: mostly names of the graph's nodes (so graph
/// operators have something to walk), and every other method.
fn random_how(rng: &mut ChaCha8Rng, g: &Graph) -> How {
    let any_node = |rng: &mut ChaCha8Rng| g.specs[rng.random_range(0..g.specs.len())].clone();
    let s = |v: &str| v.to_string();
    match rng.random_range(0..16) {
        0..=5 => How::Bare(any_node(rng).name),
        6 => How::Bare(s(pick(
            rng,
            &[
                "m1*", "m*", "*1", "m?", "check*", "seed*", "src*", "src0.*", "nope",
            ],
        ))),
        7 => How::Bare(s(pick(rng, &FOLDERS))),
        8 => How::BarePath(s(pick(
            rng,
            &[
                "models/stage",
                "models/mart",
                "models/mart/reports/",
                "seeds/",
                "tests/sql",
                "models/raw",
            ],
        ))),
        9 => How::Path(match rng.random_bool(0.5) {
            true => any_node(rng).path,
            false => s(pick(rng, &["models", "models/mart", "seeds/ref", "tests"])),
        }),
        10 => How::Tag(s(pick(rng, &["hourly", "pii", "nope"]))),
        11 => How::Materialized(s(pick(rng, &["view", "table", "incremental", "seed"]))),
        12 => How::ConfigTag(s(pick(rng, &["hourly", "pii"]))),
        13 => How::Source(s(pick(
            rng,
            &["src0", "src1", "src0.t0", "src1.t1", "src*", "src0.t2"],
        ))),
        14 => How::ResourceType(s(pick(rng, &["model", "seed", "source", "test"]))),
        _ => How::Fqn(s(pick(
            rng,
            &["mart", "mart.reports", "stage", "src0", "ref", "m*"],
        ))),
    }
}

fn random_atom(rng: &mut ChaCha8Rng, g: &Graph) -> AtomSpec {
    let how = random_how(rng, g);
    let depth = |rng: &mut ChaCha8Rng| Some(Some(rng.random_range(0..=3usize)));
    let (at, parents, children) = match rng.random_range(0..11) {
        0..=2 => (false, None, None),
        3 => (false, Some(None), None),
        4 => (false, None, Some(None)),
        5 => (false, depth(rng), None),
        6 => (false, None, depth(rng)),
        7 => (false, Some(None), Some(None)),
        8 => (false, depth(rng), depth(rng)),
        9 => (true, None, None),
        _ => (true, None, [Some(None), depth(rng)][rng.random_range(0..2)]),
    };
    AtomSpec {
        how,
        at,
        parents,
        children,
    }
}

/// 1-3 terms of 1-2 atoms, or (when the graph has it) `my model` whole.
fn random_arg(rng: &mut ChaCha8Rng, g: &Graph) -> Arg {
    if g.specs.iter().any(|s| s.name == "my model") && rng.random_bool(0.1) {
        return Arg::WholeName("my model".into());
    }
    let terms = (0..rng.random_range(1..=3))
        .map(|_| {
            let atoms = if rng.random_bool(0.25) { 2 } else { 1 };
            (0..atoms).map(|_| random_atom(rng, g)).collect()
        })
        .collect();
    Arg::Terms(terms)
}

impl Arg {
    fn render(&self) -> String {
        match self {
            Arg::WholeName(name) => name.clone(),
            Arg::Terms(terms) => terms
                .iter()
                .map(|t| t.iter().map(AtomSpec::render).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// `--select` and `--exclude` arguments (as a schedule's `select:` and
/// `exclude:` lists are too).
#[derive(Debug, Clone)]
struct Selection {
    select: Vec<Arg>,
    exclude: Vec<Arg>,
}

fn random_selection(rng: &mut ChaCha8Rng, g: &Graph) -> Selection {
    let n_select = [0, 1, 1, 1, 2, 3][rng.random_range(0..6)];
    let n_exclude = [0, 0, 0, 1, 2][rng.random_range(0..5)];
    Selection {
        select: (0..n_select).map(|_| random_arg(rng, g)).collect(),
        exclude: (0..n_exclude).map(|_| random_arg(rng, g)).collect(),
    }
}

impl Selection {
    fn select_strings(&self) -> Vec<String> {
        self.select.iter().map(Arg::render).collect()
    }

    fn exclude_strings(&self) -> Vec<String> {
        self.exclude.iter().map(Arg::render).collect()
    }
}

// ---------------------------------------------------------------- oracle

/// `*` any run of characters, `?` one character; everything else literal.
fn wildcard(pattern: &[char], text: &[char]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            wildcard(&pattern[1..], text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        (Some('?'), Some(_)) => wildcard(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => wildcard(&pattern[1..], &text[1..]),
        _ => false,
    }
}

fn like(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    wildcard(&p, &t)
}

/// `a.b` matches an fqn starting with `a`, `b` (each part a wildcard).
fn fqn_starts_with(value: &str, fqn: &[String]) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() <= fqn.len() && parts.iter().zip(fqn).all(|(p, f)| like(p, f))
}

/// The file is `want` or lies under the folder `want`.
fn under(path: &str, want: &str) -> bool {
    let want = want.trim_end_matches('/');
    path == want || path.starts_with(&format!("{want}/"))
}

fn matches(s: &Spec, how: &How) -> bool {
    let model_or_seed = matches!(s.kind, NodeKind::Model | NodeKind::Seed);
    match how {
        How::Bare(v) => {
            like(v, &s.name) || (s.kind != NodeKind::Source && fqn_starts_with(v, &s.fqn))
        }
        How::BarePath(v) | How::Path(v) => under(&s.path, v),
        How::Tag(v) => s.tags.contains(v),
        How::Materialized(v) => model_or_seed && s.materialized == Some(v.as_str()),
        How::ConfigTag(v) => model_or_seed && s.tags.contains(v),
        How::Source(v) => s.kind == NodeKind::Source && fqn_starts_with(v, &s.fqn),
        How::ResourceType(v) => s.kind.as_str() == v,
        How::Fqn(v) => fqn_starts_with(v, &s.fqn),
    }
}

/// Nodes reachable from `start` over `adj` within `depth` steps (None:
/// any), `start` excluded: a textbook breadth-first search.
fn bfs(adj: &[Vec<usize>], start: usize, depth: Option<usize>) -> BTreeSet<usize> {
    let mut dist = BTreeMap::from([(start, 0usize)]);
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let d = dist[&n];
        if depth.is_some_and(|max| d >= max) {
            continue;
        }
        for &next in &adj[n] {
            if let std::collections::btree_map::Entry::Vacant(e) = dist.entry(next) {
                e.insert(d + 1);
                queue.push_back(next);
            }
        }
    }
    dist.remove(&start);
    dist.into_keys().collect()
}

/// What the oracle expects of one atom: its matches and what its operators
/// add (None when it matches nothing).
fn expect_atom(g: &Graph, atom: &AtomSpec) -> Option<BTreeSet<usize>> {
    let base: BTreeSet<usize> = (0..g.specs.len())
        .filter(|&i| matches(&g.specs[i], &atom.how))
        .collect();
    if base.is_empty() {
        return None;
    }
    let mut out = base.clone();
    for &x in &base {
        if let Some(depth) = atom.parents {
            out.extend(bfs(&g.parents, x, depth));
        }
        if let Some(depth) = atom.children {
            out.extend(bfs(&g.children, x, depth));
        }
        if atom.at {
            // dbt's select_childrens_parents: x, its descendants, and every
            // ancestor of any of them (x's own ancestors included).
            let mut family = bfs(&g.children, x, None);
            family.insert(x);
            for &f in &family {
                out.extend(bfs(&g.parents, f, None));
            }
            out.extend(family);
        }
    }
    Some(out)
}

/// An argument's nodes, recording atoms that match nothing in `unmatched`.
fn expect_arg(g: &Graph, arg: &Arg, unmatched: &mut Vec<String>) -> BTreeSet<usize> {
    let terms = match arg {
        Arg::WholeName(name) => {
            return g
                .specs
                .iter()
                .position(|s| &s.name == name)
                .into_iter()
                .collect()
        }
        Arg::Terms(terms) => terms,
    };
    let mut union = BTreeSet::new();
    for term in terms {
        let mut sets = term.iter().map(|atom| {
            expect_atom(g, atom).unwrap_or_else(|| {
                unmatched.push(atom.render());
                BTreeSet::new()
            })
        });
        let first = sets.next().unwrap_or_default();
        union.extend(sets.fold(first, |acc, s| acc.intersection(&s).copied().collect()));
    }
    union
}

/// The oracle's selection: names chosen, and atoms that matched nothing.
fn expect(g: &Graph, sel: &Selection) -> (BTreeSet<String>, Vec<String>) {
    let mut unmatched = Vec::new();
    let mut chosen: BTreeSet<usize> = if sel.select.is_empty() {
        (0..g.specs.len()).collect()
    } else {
        sel.select
            .iter()
            .flat_map(|a| expect_arg(g, a, &mut unmatched))
            .collect()
    };
    // A test comes with its parents when all of them are chosen.
    let tests: Vec<usize> = (0..g.specs.len())
        .filter(|&t| g.specs[t].kind == NodeKind::Test && !g.parents[t].is_empty())
        .filter(|&t| g.parents[t].iter().all(|p| chosen.contains(p)))
        .collect();
    chosen.extend(tests);
    for arg in &sel.exclude {
        for i in expect_arg(g, arg, &mut unmatched) {
            chosen.remove(&i);
        }
    }
    let names = chosen
        .into_iter()
        .map(|i| g.specs[i].name.clone())
        .collect();
    (names, unmatched)
}

// -------------------------------------------------------------- coverage

/// How often each form was exercised with an effect, so a generator that
/// drifted into trivial cases fails loudly instead of passing vacuously.
#[derive(Default)]
struct Coverage(BTreeMap<&'static str, usize>);

impl Coverage {
    fn add(&mut self, form: &'static str) {
        *self.0.entry(form).or_default() += 1;
    }

    /// Counts the graph's shapes: isolated nodes, diamonds, no edges.
    fn graph(&mut self, g: &Graph) {
        let n = g.specs.len();
        if (0..n).any(|i| g.parents[i].is_empty() && g.children[i].is_empty()) {
            self.add("graph with an isolated node");
        }
        if g.parents.iter().all(Vec::is_empty) {
            self.add("graph without edges");
        }
        let diamond = (0..n).any(|i| {
            let ps = &g.parents[i];
            ps.iter().enumerate().any(|(k, &a)| {
                let mut up_a = bfs(&g.parents, a, None);
                up_a.insert(a);
                ps[k + 1..].iter().any(|&b| {
                    let mut up_b = bfs(&g.parents, b, None);
                    up_b.insert(b);
                    !up_a.is_disjoint(&up_b)
                })
            })
        });
        if diamond {
            self.add("graph with a diamond");
        }
    }

    /// Counts the forms of a selection whose atoms changed the outcome:
    /// matched something, and for operators, added nodes to their matches.
    fn selection(&mut self, g: &Graph, sel: &Selection, chosen: &BTreeSet<String>) {
        for (args, flag) in [(&sel.select, "--select"), (&sel.exclude, "--exclude")] {
            if !args.is_empty() {
                self.add(flag);
            }
            if args.len() > 1 {
                self.add("several arguments");
            }
            for arg in args {
                self.arg(g, arg);
            }
        }
        let direct: BTreeSet<usize> = sel
            .select
            .iter()
            .flat_map(|a| expect_arg(g, a, &mut Vec::new()))
            .collect();
        let indirect = (0..g.specs.len()).any(|t| {
            g.specs[t].kind == NodeKind::Test
                && !direct.contains(&t)
                && chosen.contains(&g.specs[t].name)
                && !g.parents[t].is_empty()
        });
        if indirect {
            self.add("tests selected with their parents");
        }
    }

    fn arg(&mut self, g: &Graph, arg: &Arg) {
        let Arg::Terms(terms) = arg else {
            return self.add("whole argument is a name with a space");
        };
        if terms.len() > 1 {
            self.add("union (space)");
        }
        for term in terms {
            let sets: Vec<_> = term.iter().map(|a| expect_atom(g, a)).collect();
            if term.len() > 1
                && sets
                    .iter()
                    .all(|s| s.as_ref().is_some_and(|s| !s.is_empty()))
            {
                self.add("intersection (comma)");
            }
            for (atom, set) in term.iter().zip(&sets) {
                self.atom(g, atom, set.as_ref());
            }
        }
    }

    fn atom(&mut self, g: &Graph, atom: &AtomSpec, set: Option<&BTreeSet<usize>>) {
        let Some(set) = set else {
            return self.add("atom matching nothing");
        };
        let (method, ops) = atom.forms();
        self.add(method);
        let plain = AtomSpec {
            at: false,
            parents: None,
            children: None,
            ..atom.clone()
        };
        if expect_atom(g, &plain).is_some_and(|base| base.len() < set.len()) {
            self.add(ops);
        }
        if atom.at && atom.children.is_none() {
            let childless = (0..g.specs.len()).any(|i| {
                matches(&g.specs[i], &atom.how)
                    && g.children[i].is_empty()
                    && !g.parents[i].is_empty()
            });
            if childless {
                self.add("@x on a node without children but with parents");
            }
        }
    }

    /// Fails unless every form was exercised at least `min` times.
    fn assert_each_at_least(&self, min: usize) {
        let forms = [
            "graph with an isolated node",
            "graph without edges",
            "graph with a diamond",
            "--select",
            "--exclude",
            "several arguments",
            "tests selected with their parents",
            "whole argument is a name with a space",
            "union (space)",
            "intersection (comma)",
            "atom matching nothing",
            "name",
            "quoted name",
            "wildcard",
            "folder",
            "bare path",
            "path:",
            "tag:",
            "config.materialized:",
            "config.tags:",
            "source:",
            "resource_type:",
            "fqn:",
            "+x",
            "N+x",
            "x+",
            "x+N",
            "+x+",
            "N+x+M",
            "@x",
            "@x+",
            "@x on a node without children but with parents",
        ];
        for form in forms {
            let n = self.0.get(form).copied().unwrap_or(0);
            assert!(
                n >= min,
                "`{form}` exercised {n} times, want {min}: {:?}",
                self.0
            );
        }
    }
}

// ----------------------------------------------------------------- tests

/// The graph, for failure messages: each node with what it reads.
fn describe(g: &Graph) -> String {
    g.specs
        .iter()
        .map(|s| {
            let reads: Vec<&str> = s
                .parents
                .iter()
                .map(|&p| g.specs[p].name.as_str())
                .collect();
            format!(
                "  {} {:?} {} fqn={:?} tags={:?} {:?} <- {reads:?}\n",
                s.kind.as_str(),
                s.name,
                s.path,
                s.fqn,
                s.tags,
                s.materialized
            )
        })
        .collect()
}

/// Seeds to run: all of `0..count`, or the one `SELECT_PROPS_SEED` names.
fn seeds(count: u64) -> Vec<u64> {
    match std::env::var("SELECT_PROPS_SEED") {
        Ok(s) => vec![s.parse().expect("SELECT_PROPS_SEED is a number")],
        Err(_) => (0..count).collect(),
    }
}

#[test]
fn every_selector_form_matches_the_oracle_on_random_graphs() {
    let mut coverage = Coverage::default();
    let mut checked = 0;
    for seed in seeds(GRAPHS) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = generate(&mut rng);
        coverage.graph(&g);
        let dag = build_dag(to_nodes(&g)).expect("a generated graph has no cycle");
        for _ in 0..SELECTIONS {
            let sel = random_selection(&mut rng, &g);
            let (select, exclude) = (sel.select_strings(), sel.exclude_strings());
            let got = select_nodes(&dag, &select, &exclude).unwrap_or_else(|e| {
                panic!(
                    "seed {seed}: --select {select:?} --exclude {exclude:?} does not parse: {e:?}"
                )
            });
            let names: BTreeSet<String> = got
                .nodes
                .iter()
                .map(|&i| dag.nodes[i].name.clone())
                .collect();
            let unmatched: Vec<String> = got.unmatched.iter().map(|(raw, _)| raw.clone()).collect();
            let (want, want_unmatched) = expect(&g, &sel);
            assert_eq!(
                (&names, &unmatched),
                (&want, &want_unmatched),
                "seed {seed}: --select {select:?} --exclude {exclude:?} on\n{}",
                describe(&g)
            );
            coverage.selection(&g, &sel, &want);
            checked += 1;
        }
    }
    if std::env::var("SELECT_PROPS_SEED").is_err() {
        assert_eq!(checked, GRAPHS as usize * SELECTIONS);
        coverage.assert_each_at_least(20);
        eprintln!(
            "{checked} selections on {GRAPHS} graphs; forms: {:?}",
            coverage.0
        );
    }
}

/// The generated graph as project files.
fn write_project(g: &Graph) -> TempProject {
    let p = TempProject::new();
    let mut sources: BTreeMap<&str, String> = BTreeMap::new();
    for s in &g.specs {
        match s.kind {
            NodeKind::Source => {
                let tables = sources.entry(&s.fqn[0]).or_default();
                tables.push_str(&format!(
                    "      - name: {}\n        tags: {:?}\n",
                    s.fqn[1], s.tags
                ));
            }
            NodeKind::Seed => {
                p.file(&s.path, "id\n1\n");
            }
            NodeKind::Model => {
                let config = format!(
                    "{{{{ config(materialized='{}', tags={:?}) }}}}",
                    s.materialized.unwrap(),
                    s.tags
                );
                p.file(&s.path, &format!("{config}\n{}", reads(g, s)));
            }
            NodeKind::Test => {
                p.file(&s.path, &format!("{} where false\n", reads(g, s)));
            }
        }
    }
    if !sources.is_empty() {
        let yml: String = sources
            .iter()
            .map(|(name, tables)| format!("  - name: {name}\n    tables:\n{tables}"))
            .collect();
        p.file("models/raw/sources.yml", &format!("sources:\n{yml}"));
    }
    p
}

/// A query reading each parent of `s` with `ref()` or `source()`.
fn reads(g: &Graph, s: &Spec) -> String {
    let mut sql = "select 1 as id".to_string();
    for &p in &s.parents {
        let parent = &g.specs[p];
        let from = match parent.kind {
            NodeKind::Source => {
                format!("{{{{ source('{}', '{}') }}}}", parent.fqn[0], parent.fqn[1])
            }
            _ => format!("{{{{ ref('{}') }}}}", parent.name),
        };
        sql.push_str(&format!(" union all select 1 from {from}"));
    }
    sql
}

/// `lake ls --output json` describes the same nodes as the generator: the
/// library graphs above mirror real projects.
fn assert_project_mirrors_the_graph(seed: u64, p: &TempProject, g: &Graph) {
    let out = p.lake(&["ls", "--output", "json"]);
    assert_eq!(out.code, 0, "seed {seed}: {}", out.stderr);
    let mut listed: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    listed.sort_by_key(|v| v["unique_id"].as_str().unwrap().to_string());
    let mut want: Vec<serde_json::Value> = to_nodes(g)
        .iter()
        .map(|n| {
            serde_json::json!({
                "unique_id": n.unique_id,
                "path": n.path.to_string_lossy(),
                "tags": n.config.tags,
                "depends_on": n.depends_on,
                "materialized": (n.kind == NodeKind::Model).then(|| n.config.materialized.as_str()),
            })
        })
        .collect();
    want.sort_by_key(|v| v["unique_id"].as_str().unwrap().to_string());
    let fields = ["unique_id", "path", "tags", "depends_on", "materialized"];
    let got: Vec<serde_json::Value> = listed
        .iter()
        .map(|v| {
            fields
                .iter()
                .map(|f| (f.to_string(), v[f].clone()))
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        want,
        "seed {seed}: the project does not mirror\n{}",
        describe(g)
    );
}

#[test]
fn lake_ls_matches_the_oracle_on_generated_projects() {
    let mut checked = 0;
    for seed in seeds(CLI_GRAPHS) {
        let mut rng = ChaCha8Rng::seed_from_u64(1_000_000 + seed);
        let g = generate(&mut rng);
        let p = write_project(&g);
        assert_project_mirrors_the_graph(seed, &p, &g);
        for _ in 0..CLI_SELECTIONS {
            let sel = random_selection(&mut rng, &g);
            let (select, exclude) = (sel.select_strings(), sel.exclude_strings());
            let mut args = vec!["ls".to_string()];
            for (flag, values) in [("--select", &select), ("--exclude", &exclude)] {
                if !values.is_empty() {
                    args.push(flag.to_string());
                    args.extend(values.iter().cloned());
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = p.lake(&args);
            assert_eq!(out.code, 0, "seed {seed}: {args:?}: {}", out.stderr);
            let names: BTreeSet<String> = out.stdout.lines().map(str::to_string).collect();
            let warned: Vec<String> = out
                .stderr
                .lines()
                .filter_map(|l| l.strip_prefix("warning: selector `"))
                .filter_map(|l| {
                    l.split_once("` matched no node")
                        .map(|(raw, _)| raw.to_string())
                })
                .collect();
            let (want, want_unmatched) = expect(&g, &sel);
            assert_eq!(
                (&names, &warned),
                (&want, &want_unmatched),
                "seed {seed}: lake {args:?} on\n{}",
                describe(&g)
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}
