//! `lake serve` in a real headless Chromium: every tab of the shipped
//! dashboard, every chart's marks against the marts (counted by an
//! independent DuckDB query over a copy of the marts the test took before
//! the server started), the date range and a browser filter set through
//! the page's own form, a lineage node followed to its model page, the
//! runs page, a screenshot of every tab, and no console error anywhere.

mod util;

use std::collections::BTreeSet;

use util::browser::{pixel_stats, sample_lake, target_dir, Chrome, Findings, Marts, Page, Server};
use util::http::static_server;
use util::lakehouse::Lakehouse;

const DASHBOARD: &str = "/dashboards/browser_events";
const TABS: [&str; 5] = ["events", "products", "conversions", "campaigns", "users"];

/// One chart of the shipped dashboard, as the contract describes it.
struct Chart {
    tab: &'static str,
    name: &'static str,
    kind: &'static str,
    model: &'static str,
    /// Columns the chart declares as filters.
    filters: &'static [&'static str],
    /// What the mart implies, as SQL over `m` (the mart after the page's
    /// filters): the number of marks, or a KPI's value.
    expect: &'static str,
}

const EVENT_FILTERS: &[&str] = &["event", "browser_name", "os_name", "device_type"];
const USER_FILTERS: &[&str] = &["os_name", "device_type", "utm_source"];

const CHARTS: [Chart; 15] = [
    Chart {
        tab: "events",
        name: "events_total",
        kind: "kpi",
        model: "events_distribution_hourly",
        filters: EVENT_FILTERS,
        expect: "select sum(cnt) from m",
    },
    Chart {
        tab: "events",
        name: "events_per_hour",
        kind: "line",
        model: "events_distribution_hourly",
        filters: EVENT_FILTERS,
        expect: "select count(*) from (select date_part, event from m group by all)",
    },
    Chart {
        tab: "products",
        name: "products_total",
        kind: "kpi",
        model: "purchased_products_count_hourly",
        filters: &[],
        expect: "select sum(cnt) from m",
    },
    Chart {
        tab: "products",
        name: "products_avg_per_hour",
        kind: "kpi",
        model: "purchased_products_count_hourly",
        filters: &[],
        expect: "select avg(cnt) from m",
    },
    Chart {
        tab: "products",
        name: "products_max_per_hour",
        kind: "kpi",
        model: "purchased_products_count_hourly",
        filters: &[],
        expect: "select max(cnt) from m",
    },
    Chart {
        tab: "products",
        name: "products_per_hour",
        kind: "bar",
        model: "purchased_products_count_hourly",
        filters: &[],
        expect: "select count(*) from (select date_part from m group by all)",
    },
    Chart {
        tab: "products",
        name: "top_products",
        kind: "bar",
        model: "top_performing_products",
        filters: &[],
        expect: "select least(10, count(*)) from (select product from m group by all)",
    },
    Chart {
        tab: "conversions",
        name: "conversions_share",
        kind: "pie",
        model: "click_conversion_rates_hourly",
        filters: &[],
        expect: "select count(*) from (select utm_source, sum(sm) as v from m group by all) where v > 0",
    },
    Chart {
        tab: "conversions",
        name: "conversions_by_source",
        kind: "bar",
        model: "click_conversion_rates_hourly",
        filters: &[],
        expect: "select count(*) from (select utm_source from m group by all)",
    },
    Chart {
        tab: "conversions",
        name: "conversions_per_hour",
        kind: "line",
        model: "click_conversion_rates_hourly",
        filters: &[],
        expect: "select count(*) from (select date_part, utm_source from m group by all)",
    },
    Chart {
        tab: "campaigns",
        name: "campaigns_per_hour",
        kind: "line",
        model: "campaign_purchase_analysis_hourly",
        filters: &["utm_campaign"],
        expect: "select count(*) from (select date_part, utm_campaign from m group by all)",
    },
    Chart {
        tab: "campaigns",
        name: "campaign_comparison",
        kind: "table",
        model: "campaign_purchase_analysis_hourly",
        filters: &["utm_campaign"],
        expect: "select count(*) from (select utm_campaign, utm_medium from m group by all)",
    },
    Chart {
        tab: "users",
        name: "users_by_os_device",
        kind: "stacked_bar",
        model: "users_segments_agg",
        filters: USER_FILTERS,
        expect: "select count(*) from (select device_type, os_name, sum(users) as v from m group by all) where v <> 0",
    },
    Chart {
        tab: "users",
        name: "users_share_by_source",
        kind: "pie",
        model: "users_segments_agg",
        filters: USER_FILTERS,
        expect: "select count(*) from (select utm_source, sum(users) as v from m group by all) where v > 0",
    },
    Chart {
        tab: "users",
        name: "purchases_by_source",
        kind: "bar",
        model: "users_purchases_segments_agg",
        filters: USER_FILTERS,
        expect: "select count(*) from (select utm_source from m group by all)",
    },
];

/// The SVG element every data mark of a kind is drawn with.
fn mark_tag(kind: &str) -> Option<&'static str> {
    match kind {
        "line" => Some("circle"),
        "bar" | "stacked_bar" => Some("rect"),
        "pie" => Some("path"),
        _ => None,
    }
}

/// What the page is filtered by: an inclusive date range and values per
/// column (an empty list: no filter on that column).
#[derive(Default, Clone)]
struct View {
    from: Option<String>,
    to: Option<String>,
    columns: Vec<(&'static str, Vec<String>)>,
}

impl Chart {
    /// The chart's expected number (marks or KPI value) under `view`,
    /// straight from the copy of the marts.
    fn expected(&self, marts: &Marts, view: &View) -> Option<f64> {
        let mut conds = vec!["true".to_string()];
        if marts.has_column(self.model, "date_part") {
            if let Some(from) = &view.from {
                conds.push(format!("date_part >= DATE '{from}'"));
            }
            if let Some(to) = &view.to {
                conds.push(format!("date_part < DATE '{to}' + INTERVAL 1 DAY"));
            }
        }
        for (column, values) in &view.columns {
            if self.filters.contains(column) && !values.is_empty() {
                let list: Vec<String> = values.iter().map(|v| Marts::quote(v)).collect();
                conds.push(format!("{column}::VARCHAR IN ({})", list.join(", ")));
            }
        }
        marts.number(&format!(
            "with m as (select * from {} where {}) {}",
            self.model,
            conds.join(" and "),
            self.expect
        ))
    }
}

/// The whole story, on one lake and one server (building them is the
/// slow part): every tab as shipped, then the filters, then lineage, a
/// model page and the runs. Failed checks are collected and reported
/// together at the end.
#[test]
fn every_tab_chart_filter_and_page_in_chromium() {
    let h = sample_lake();
    // The independent side reads the lake before the server exists.
    let marts = Marts::copy(&h);
    let lineage = LineageExpectation::of(&h);
    let mut server = Server::start(&h, &[], &[]);
    let chrome = Chrome::launch();
    let page = chrome.page();
    let f = Findings::default();

    // `/` lands on the first tab.
    page.open(&server.url("/"));
    page.wait_until(
        "the redirect to the events tab",
        &format!("location.pathname === '{DASHBOARD}/events'"),
    );
    page.check_console(&f, "/");

    for tab in TABS {
        check_tab(&f, &page, &server, &marts, tab);
        screenshot_tab(&f, &page, tab);
        page.check_console(&f, &format!("tab {tab}"));
    }
    filters_through_the_form(&f, &page, &server, &marts);
    lineage_to_a_model_page(&f, &page, &server, &marts, &lineage, &h);

    page.open(&server.url("/runs"));
    page.wait_for("table#runs");
    f.check(page.count("table#runs tbody tr") >= 1, || {
        "the run that built the lake is not on /runs".into()
    });
    page.check_console(&f, "/runs");
    server.assert_running();
    f.finish();
}

/// Opens `tab` as shipped (no query) and checks the site nav, the tab nav,
/// the filter form and every chart against the marts.
fn check_tab(f: &Findings, page: &Page, server: &Server, marts: &Marts, tab: &str) {
    let at = format!("{DASHBOARD}/{tab}");
    page.open(&server.url(&at));
    page.wait_for("form#filters");

    // Site navigation.
    let site: Vec<String> =
        page.eval("[...document.querySelectorAll('nav#site a')].map(a => a.getAttribute('href'))");
    for want in ["/dashboards/", "/lineage", "/runs"] {
        f.check(site.iter().any(|h| h.starts_with(want)), || {
            format!("{at}: nav#site has no link to {want}: {site:?}")
        });
    }
    check_tab_links(f, page, tab, &at);

    // The filter form: dates, one multi-select per filter column of the tab.
    f.eq(
        page.attr("form#filters", "method")
            .map(|m| m.to_lowercase()),
        Some("get".into()),
        &format!("{at}: form#filters method"),
    );
    for id in ["from", "to"] {
        let input: Option<(String, String)> = page.eval(&format!(
            "(() => {{ const e = document.querySelector('input#{id}'); return e && [e.type, e.name]; }})()"
        ));
        f.eq(
            input,
            Some(("date".into(), id.into())),
            &format!("{at}: input#{id} (type, name)"),
        );
    }
    f.eq(
        page.attr("button#apply", "type"),
        Some("submit".into()),
        &format!("{at}: button#apply type"),
    );
    let charts: Vec<&Chart> = CHARTS.iter().filter(|c| c.tab == tab).collect();
    let filter_columns: BTreeSet<String> = charts
        .iter()
        .flat_map(|c| c.filters.iter().map(|s| s.to_string()))
        .collect();
    let selects: Vec<(String, String, bool)> = page.eval(
        "[...document.querySelectorAll('form#filters select')].map(s => [s.id, s.name, s.multiple])",
    );
    let got: BTreeSet<String> = selects.iter().map(|s| s.1.clone()).collect();
    f.eq(got, filter_columns, &format!("{at}: filter selects"));
    for (id, name, multiple) in &selects {
        f.eq(
            id.clone(),
            format!("filter-{name}"),
            &format!("{at}: select id"),
        );
        f.check(*multiple, || format!("{at}: select#{id} is not multiple"));
        let offered: BTreeSet<String> = page.eval(&format!(
            "[...document.querySelectorAll('select#{id} option')].map(o => o.value)"
        ));
        let models: BTreeSet<&str> = charts
            .iter()
            .filter(|c| c.filters.contains(&name.as_str()))
            .map(|c| c.model)
            .collect();
        let want: BTreeSet<String> = models
            .iter()
            .flat_map(|m| marts.distinct(m, name))
            .collect();
        f.eq(offered, want, &format!("{at}: options of select#{id}"));
    }
    if tab == "events" {
        // Absent from the URL, the dates show the data's first and last day.
        let (first, last) = marts.day_range("events_distribution_hourly");
        let shown: (String, String) = page.eval(
            "[document.querySelector('input#from')?.value, document.querySelector('input#to')?.value]",
        );
        f.eq(shown, (first, last), &format!("{at}: prefilled date range"));
    }

    // The charts: exactly the tab's, each with the marks the mart implies.
    let sections: Vec<String> =
        page.eval("[...document.querySelectorAll('section.chart')].map(s => s.id)");
    let want: Vec<String> = charts.iter().map(|c| format!("chart-{}", c.name)).collect();
    f.eq(sections, want, &format!("{at}: charts"));
    for chart in charts {
        check_chart(f, page, marts, chart, &View::default(), &at);
    }
}

/// The tab links: all five, the current one active, each carrying the
/// current filters (compared as sorted pairs: the same filters, any order).
fn check_tab_links(f: &Findings, page: &Page, tab: &str, at: &str) {
    let tabs: Vec<(String, String, String, bool)> = page.eval(
        "[...document.querySelectorAll('nav#tabs a.tab')].map(a => {
           const u = new URL(a.href);
           return [a.dataset.tab, u.pathname, JSON.stringify([...u.searchParams].sort()),
                   a.classList.contains('active')]; })",
    );
    let names: Vec<&str> = tabs.iter().map(|t| t.0.as_str()).collect();
    f.eq(names, TABS.to_vec(), &format!("{at}: tabs"));
    let search: String =
        page.eval("JSON.stringify([...new URLSearchParams(location.search)].sort())");
    for (name, pathname, tab_search, active) in &tabs {
        f.eq(
            pathname.clone(),
            format!("{DASHBOARD}/{name}"),
            &format!("{at}: tab link {name}"),
        );
        f.eq(
            tab_search,
            &search,
            &format!("{at}: query string of tab link {name}"),
        );
        f.eq(*active, name == tab, &format!("{at}: tab {name} active"));
    }
}

/// One chart's section: kind, model, title, and its marks or value.
fn check_chart(f: &Findings, page: &Page, marts: &Marts, chart: &Chart, view: &View, at: &str) {
    let sel = format!("section#chart-{}", chart.name);
    let here = format!("{at} {}", chart.name);
    if page.count(&sel) != 1 {
        f.check(false, || format!("{here}: no {sel}"));
        return;
    }
    let (kind, model, title): (String, String, String) = page.eval(&format!(
        "(() => {{ const s = document.querySelector('{sel}');
           return [s.dataset.kind ?? '', s.dataset.model ?? '',
                   s.querySelector('h3')?.textContent.trim() ?? '']; }})()"
    ));
    f.eq(
        (kind.as_str(), model.as_str()),
        (chart.kind, chart.model),
        &format!("{here}: data-kind, data-model"),
    );
    f.check(!title.is_empty(), || format!("{here}: no <h3> title"));
    let Some(want) = chart.expected(marts, view) else {
        f.check(false, || {
            format!("{here}: the mart gives no value for this view")
        });
        return;
    };
    eprintln!("{here}: the mart implies {want}");
    match chart.kind {
        "kpi" => {
            let (raw, shown): (Option<String>, String) = page.eval(&format!(
                "(() => {{ const o = document.querySelector('{sel} output.kpi-value');
                   return o ? [o.dataset.value ?? null, o.textContent.trim()] : [null, '']; }})()"
            ));
            let got = raw.as_deref().and_then(|r| r.parse::<f64>().ok());
            f.check(
                got.is_some_and(|g| (g - want).abs() <= 1e-9 * want.abs().max(1.0)),
                || {
                    format!(
                        "{here}: KPI data-value {raw:?} (shown {shown:?}), the mart says {want}"
                    )
                },
            );
            f.check(!shown.is_empty(), || {
                format!("{here}: the KPI shows no text")
            });
        }
        "table" => {
            let rows = page.count(&format!("{sel} table tbody tr.mark"));
            f.eq(rows as f64, want, &format!("{here}: table rows (tr.mark)"));
        }
        kind => {
            let tag = mark_tag(kind).unwrap();
            f.check(page.count(&format!("{sel} svg")) >= 1, || {
                format!("{here}: no inline <svg>")
            });
            let tags: Vec<String> = page.eval(&format!(
                "[...document.querySelectorAll('{sel} svg .mark')].map(e => e.tagName.toLowerCase())"
            ));
            f.check(tags.iter().all(|t| t == tag), || {
                format!("{here}: marks should all be <{tag}>: {tags:?}")
            });
            f.eq(tags.len() as f64, want, &format!("{here}: {kind} marks"));
        }
    }
}

/// Saves the tab's screenshot under target/ and docs/ after checking it is
/// not blank.
fn screenshot_tab(f: &Findings, page: &Page, tab: &str) {
    let png = page.screenshot();
    let stats = pixel_stats(&png);
    f.check(
        stats.width >= 1000
            && stats.luminance_stddev > 10.0
            && stats.non_background > 0.02
            && stats.colours > 16,
        || format!("tab {tab}: the screenshot looks blank: {stats:?}"),
    );
    // The README's pictures are refreshed on request only, so a test run
    // leaves the checkout clean: LAKE_UPDATE_SCREENSHOTS=1 cargo test --test browser.
    let mut dirs = vec![target_dir().join("screenshots")];
    if std::env::var_os("LAKE_UPDATE_SCREENSHOTS").is_some() {
        dirs.push(util::repo_root().join("docs/screenshots"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{tab}.png")), &png).unwrap();
    }
}

/// The date range and a browser filter set with the page's own controls.
fn filters_through_the_form(f: &Findings, page: &Page, server: &Server, marts: &Marts) {
    let (first, last) = marts.day_range("events_distribution_hourly");
    assert_ne!(first, last, "the sample lake should span two days");
    let browsers = marts.distinct("events_distribution_hourly", "browser_name");
    assert!(browsers.len() >= 2, "browsers: {browsers:?}");
    let picked: Vec<String> = browsers.iter().take(2).cloned().collect();

    // Events: the first day only, two browsers.
    page.open(&server.url(&format!("{DASHBOARD}/events")));
    f.eq(
        page.fill("input#from", &first),
        first.clone(),
        "input#from after filling it",
    );
    f.eq(
        page.fill("input#to", &first),
        first.clone(),
        "input#to after filling it",
    );
    let picks: Vec<&str> = picked.iter().map(String::as_str).collect();
    page.select("select#filter-browser_name", &picks);
    page.click("button#apply");
    page.wait_until(
        "the filtered events page",
        "new URLSearchParams(location.search).getAll('browser_name').length === 2 \
         && document.readyState === 'complete'",
    );
    let params: Vec<(String, String)> = page.eval("[...new URLSearchParams(location.search)]");
    for want in [("from", first.as_str()), ("to", first.as_str())] {
        f.check(
            params.iter().any(|(k, v)| (k.as_str(), v.as_str()) == want),
            || format!("the form did not put {want:?} in the URL: {params:?}"),
        );
    }
    let view = View {
        from: Some(first.clone()),
        to: Some(first.clone()),
        columns: vec![("browser_name", picked.clone())],
    };
    let everything = CHARTS[0].expected(marts, &View::default()).unwrap();
    let filtered = CHARTS[0].expected(marts, &view).unwrap();
    assert!(
        filtered < everything,
        "the filter should leave out some events"
    );
    let at = format!("events ({first}, {picked:?})");
    for chart in CHARTS.iter().filter(|c| c.tab == "events") {
        check_chart(f, page, marts, chart, &view, &at);
    }
    check_tab_links(f, page, "events", &at);
    let shown: (String, String) = page.eval(
        "[document.querySelector('input#from').value, document.querySelector('input#to').value]",
    );
    f.eq(
        shown,
        (first.clone(), first.clone()),
        &format!("{at}: the dates shown"),
    );
    page.check_console(f, &at);

    // The products tab link keeps the range (the browser filter does not
    // apply to the products charts).
    page.click("nav#tabs a.tab[data-tab=products]");
    page.wait_until(
        "the products tab",
        &format!(
            "location.pathname === '{DASHBOARD}/products' && document.readyState === 'complete'"
        ),
    );
    let mut kept: Vec<(String, String)> = page.eval("[...new URLSearchParams(location.search)]");
    let mut sent = params.clone();
    kept.sort();
    sent.sort();
    f.eq(
        kept,
        sent,
        "the filters after following the products tab link",
    );
    let at = format!("products ({first}, via the tab link)");
    for chart in CHARTS.iter().filter(|c| c.tab == "products") {
        check_chart(f, page, marts, chart, &view, &at);
    }

    // Products: the second day, set on this tab's form.
    f.eq(
        page.fill("input#from", &last),
        last.clone(),
        "products input#from",
    );
    f.eq(
        page.fill("input#to", &last),
        last.clone(),
        "products input#to",
    );
    page.click("button#apply");
    page.wait_until(
        "the products page for the last day",
        &format!(
            "new URLSearchParams(location.search).get('from') === '{last}' && \
             document.readyState === 'complete'"
        ),
    );
    let view = View {
        from: Some(last.clone()),
        to: Some(last.clone()),
        columns: vec![],
    };
    let at = format!("products ({last})");
    for chart in CHARTS.iter().filter(|c| c.tab == "products") {
        check_chart(f, page, marts, chart, &view, &at);
    }
    page.check_console(f, &at);
}

/// What the lineage pages should show, from `lake ls` (lake's selector
/// grammar, asked through another command): every node but tests.
struct LineageExpectation {
    all: BTreeSet<String>,
    mart_plus: BTreeSet<String>,
    stage_plus: BTreeSet<String>,
    ancestors: BTreeSet<String>,
    /// Models and seeds: the nodes that have a model page.
    with_pages: BTreeSet<String>,
}

const FOLLOWED: &str = "top_performing_products";

impl LineageExpectation {
    fn of(h: &Lakehouse) -> Self {
        let ls = |types: &[&str], select: &str| -> BTreeSet<String> {
            let mut args = vec!["ls"];
            for t in types {
                args.extend(["--resource-type", t]);
            }
            if !select.is_empty() {
                args.extend(["--select", select]);
            }
            let out = h.lake(&args);
            assert_eq!(out.code, 0, "lake {args:?}: {}", out.stderr);
            out.stdout.lines().map(str::to_string).collect()
        };
        let nodes = ["model", "seed", "source"];
        let ancestors = ls(&nodes, &format!("+{FOLLOWED}"));
        assert!(
            ancestors.len() > 1,
            "{FOLLOWED} has no upstream: {ancestors:?}"
        );
        LineageExpectation {
            all: ls(&nodes, ""),
            mart_plus: ls(&nodes, "mart+"),
            stage_plus: ls(&nodes, "stage+"),
            ancestors,
            with_pages: ls(&["model", "seed"], ""),
        }
    }
}

/// The lineage graph, a selection of it, and a node clicked through to
/// its model page.
fn lineage_to_a_model_page(
    f: &Findings,
    page: &Page,
    server: &Server,
    marts: &Marts,
    want: &LineageExpectation,
    h: &Lakehouse,
) {
    let nodes = |page: &Page| -> Vec<(String, String)> {
        page.wait_for("svg a.node");
        page.eval(
            "[...document.querySelectorAll('svg a.node')].map(a =>
               [a.dataset.node, a.getAttribute('href') ?? a.getAttribute('xlink:href')])",
        )
    };
    let with_pages = &want.with_pages;
    for (query, want) in [
        ("", &want.all),
        // `+` as typed in an address bar (the selector's `+`, as in the
        // contract's `?select=mart+`), and percent-encoded. `stage+` tells
        // the two readings apart: stage has children, mart has none.
        ("?select=mart+", &want.mart_plus),
        ("?select=stage+", &want.stage_plus),
        ("?select=%2Btop_performing_products", &want.ancestors),
    ] {
        let at = format!("/lineage{query}");
        page.open(&server.url(&at));
        let got = nodes(page);
        for (name, href) in got.iter().filter(|n| with_pages.contains(&n.0)) {
            f.eq(
                href.clone(),
                format!("/models/{name}"),
                &format!("{at}: link of {name}"),
            );
        }
        let names: BTreeSet<String> = got.iter().map(|n| n.0.clone()).collect();
        f.eq(&names, want, &format!("{at}: nodes"));
        page.check_console(f, &at);
    }

    // Follow a node with the mouse.
    page.open(&server.url("/lineage"));
    page.click(&format!("svg a.node[data-node={FOLLOWED}]"));
    page.wait_until(
        "the model page",
        &format!("location.pathname === '/models/{FOLLOWED}' && document.querySelector('h1')"),
    );
    let at = format!("/models/{FOLLOWED}");
    let h1 = page.text("h1");
    f.check(h1.contains(FOLLOWED), || format!("{at}: h1 {h1:?}"));
    for id in ["columns", "sql", "last-run", "upstream", "downstream"] {
        f.eq(
            page.count(&format!("section#{id}")),
            1,
            &format!("{at}: section#{id}"),
        );
    }
    // Every column of the mart, with its type.
    let rows: Vec<Vec<String>> = page.eval(
        "[...document.querySelectorAll('section#columns table tbody tr')].map(r =>
           [...r.cells].map(c => c.textContent.trim()))",
    );
    for (column, data_type) in marts.columns(FOLLOWED) {
        f.check(
            rows.iter().any(|r| {
                r.first() == Some(&column) && r.iter().any(|c| c.eq_ignore_ascii_case(&data_type))
            }),
            || format!("{at}: no row for column {column} {data_type} in {rows:?}"),
        );
    }
    let sql: String = page.eval("document.querySelector('section#sql')?.textContent ?? ''");
    f.check(sql.to_lowercase().contains("select"), || {
        format!("{at}: section#sql holds no SQL: {sql:?}")
    });
    // The last run's status, as run_results.json has it.
    let results = h.p.run_results();
    let status = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["unique_id"]
                .as_str()
                .unwrap()
                .ends_with(&format!(".{FOLLOWED}"))
        })
        .and_then(|r| r["status"].as_str())
        .expect("the model in run_results.json")
        .to_string();
    let last_run: String =
        page.eval("document.querySelector('section#last-run')?.textContent.toLowerCase() ?? ''");
    f.check(last_run.contains(&status), || {
        format!("{at}: section#last-run {last_run:?} does not say {status}")
    });
    // Upstream links lead to ancestors; nothing is downstream of a mart.
    let links = |id: &str| -> Vec<String> {
        page.eval(&format!(
            "[...document.querySelectorAll('section#{id} a[href^=\"/models/\"]')]
               .map(a => a.getAttribute('href').slice('/models/'.length))"
        ))
    };
    let upstream = links("upstream");
    f.check(!upstream.is_empty(), || {
        format!("{at}: section#upstream links nothing")
    });
    for name in &upstream {
        f.check(want.ancestors.contains(name) && name != FOLLOWED, || {
            format!("{at}: section#upstream links {name}, not an ancestor")
        });
    }
    f.eq(
        links("downstream"),
        Vec::<String>::new(),
        &format!("{at}: section#downstream"),
    );
    page.check_console(f, &at);
}

/// The harness itself, against a static page: evaluation, the form
/// controls, a mouse click that submits, a screenshot that is not blank,
/// and console errors and exceptions actually caught (so "no console
/// errors" above means something).
#[test]
fn harness_drives_a_static_page_and_catches_console_errors() {
    let base = static_server(|path| {
        let (status, body) = if path == "/" {
            ("200 OK", STATIC_PAGE.to_string())
        } else if path.starts_with("/result") {
            (
                "200 OK",
                "<!doctype html><title>r</title><h1 id=done>done</h1>".to_string(),
            )
        } else {
            ("404 Not Found", "nope".to_string())
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let chrome = Chrome::launch();
    let page = chrome.page();
    page.open(&base);
    assert_eq!(page.count("svg .mark"), 2);
    assert_eq!(page.eval::<Vec<i64>>("[1, 2].map(x => x * 2)"), vec![2, 4]);
    let png = page.screenshot();
    let stats = pixel_stats(&png);
    assert_eq!((stats.width, stats.height), (1280, 900), "{stats:?}");
    assert!(
        stats.luminance_stddev > 10.0 && stats.colours > 2,
        "{stats:?}"
    );
    page.assert_no_console_errors("static page");

    // A date input refuses a malformed value.
    assert_eq!(page.fill("input#from", "2024-13-45"), "");
    assert_eq!(page.fill("input#from", "2024-05-01"), "2024-05-01");
    page.select("select#filter-b", &["x", "z"]);
    page.click("button#apply");
    page.wait_until("the result page", "document.querySelector('h1#done')");
    let search: String = page.eval("location.search");
    assert_eq!(search, "?from=2024-05-01&b=x&b=z");

    page.open(&base);
    page.click("button#boom");
    page.wait_until("the exception", "window.boomed === true");
    // The exception is reported asynchronously; wait for both reports.
    let start = std::time::Instant::now();
    let mut problems = Vec::new();
    while problems.len() < 2 && start.elapsed() < util::browser::DEADLINE {
        problems.extend(page.take_problems());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let all = problems.join("\n");
    assert!(all.contains("boom") && all.contains("kaput"), "{all}");

    // A failed sub-resource is a problem too.
    page.open(&base);
    page.take_problems();
    page.eval::<bool>(
        "(() => { const i = document.createElement('img'); i.src = '/missing.png'; document.body.append(i); return true; })()",
    );
    page.wait_until(
        "the image to fail",
        "document.querySelector('img').complete",
    );
    let start = std::time::Instant::now();
    let mut problems = Vec::new();
    while problems.is_empty() && start.elapsed() < util::browser::DEADLINE {
        problems.extend(page.take_problems());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(problems.join("\n").contains("404"), "{problems:?}");
}

const STATIC_PAGE: &str = r#"<!doctype html>
<html><head><title>static</title><link rel="icon" href="data:,"></head>
<body style="font-family: sans-serif; margin: 2em">
<form id="filters" method="get" action="/result">
  <input type="date" id="from" name="from">
  <select multiple id="filter-b" name="b"><option value="x">x</option><option value="y">y</option><option value="z">z</option></select>
  <button type="submit" id="apply">Apply</button>
</form>
<svg width="400" height="200"><rect class="mark" x="10" y="10" width="150" height="180" fill="steelblue"/><circle class="mark" cx="280" cy="100" r="80" fill="tomato"/></svg>
<button id="boom" type="button" onclick="console.error('boom'); window.boomed = true; setTimeout(() => { throw new Error('kaput') }, 0)">boom</button>
</body></html>"#;
