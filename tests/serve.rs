//! `lake serve` over plain HTTP (no browser): bad input answered with a
//! clear 400/404 and never a 500, the auth token (401, bearer, cookie),
//! and the promise that serving never gets in the way of the hourly
//! `lake run` on the embedded lake: the run succeeds while pages keep
//! answering from the previous snapshot, then show the new one.

mod util;

use std::time::{Duration, Instant};

use util::browser::{sample_lake, Findings, Marts, Server, DEADLINE};
use util::http::{encode, get, parse_response, static_server, Response};
use util::lakehouse::Lakehouse;
use util::Lake;

const EVENTS: &str = "/dashboards/browser_events/events";

/// Every filter column of the shipped dashboard (any tab).
const FILTER_COLUMNS: [&str; 6] = [
    "event",
    "browser_name",
    "os_name",
    "device_type",
    "utm_campaign",
    "utm_source",
];

/// The raw `data-value` of the events_total KPI on an events page.
fn events_total(page: &Response) -> Option<f64> {
    let section = page.body.split("id=\"chart-events_total\"").nth(1)?;
    let section = section.split("</section>").next()?;
    let tag = &section[section.find("<output")?..];
    let tag = &tag[..tag.find('>')?];
    let value = &tag[tag.find("data-value=")? + "data-value=".len()..];
    let quote = value.chars().next()?;
    value[1..].split(quote).next()?.parse().ok()
}

/// Records in `f` unless `r` has `status` and its body names every word of
/// `names`.
fn check_answer(f: &Findings, what: &str, r: &Response, status: u16, names: &[&str]) {
    f.check(r.status == status, || {
        format!("{what}: want HTTP {status}, got {}", r.summary())
    });
    for n in names {
        f.check(r.body.contains(n), || {
            format!("{what}: the message does not name {n:?}: {}", r.summary())
        });
    }
}

#[test]
fn bad_input_gets_a_clear_400_or_404_never_a_500() {
    let h = sample_lake();
    let marts = Marts::copy(&h);
    let mut server = Server::start(&h, &[], &[]);
    let url = |path: &str| server.url(path);
    let f = Findings::default();

    let r = get(&url("/"), &[]);
    f.eq(r.status, 303, "GET / status");
    f.eq(r.header("location"), Some(EVENTS), "GET / redirects to");

    // The good cases first, so a 400 below is about the input alone.
    let browser = marts.distinct("events_distribution_hourly", "browser_name")[0].clone();
    let campaign = marts.distinct("campaign_purchase_analysis_hourly", "utm_campaign")[0].clone();
    for path in [
        EVENTS.to_string(),
        format!(
            "{EVENTS}?from=2024-05-01&to=2024-05-02&browser_name={}",
            encode(&browser)
        ),
        // A filter of another tab of the dashboard is allowed (tab links
        // keep the query string); it just does not apply here.
        format!("{EVENTS}?utm_campaign={}", encode(&campaign)),
        // The token parameter is not a filter, even without auth.
        format!("{EVENTS}?token=anything"),
        "/lineage".to_string(),
        "/runs".to_string(),
        "/models/top_performing_products".to_string(),
    ] {
        let r = get(&url(&path), &[]);
        check_answer(&f, &path, &r, 200, &[]);
    }

    let mut allowed = vec!["from", "to"];
    allowed.extend(FILTER_COLUMNS);
    let injection = "x' OR 1=1 --";
    let script = "<script>alert(1)</script>";
    let cases: Vec<(String, u16, Vec<&str>)> = vec![
        // An unknown parameter: named, with the allowed ones.
        (
            format!("{EVENTS}?colour=red"),
            400,
            [vec!["colour"], allowed.clone()].concat(),
        ),
        // Malformed dates.
        (
            format!("{EVENTS}?from=2024-13-45"),
            400,
            vec!["from", "2024-13-45"],
        ),
        (
            format!("{EVENTS}?to=yesterday"),
            400,
            vec!["to", "yesterday"],
        ),
        (format!("{EVENTS}?from=2024-05-01T00:00"), 400, vec!["from"]),
        // Filter values that are not values of the column.
        (
            format!("{EVENTS}?browser_name={}", encode(injection)),
            400,
            vec!["browser_name"],
        ),
        (
            format!(
                "{EVENTS}?browser_name={}&browser_name=Netscape",
                encode(&browser)
            ),
            400,
            vec!["browser_name", "Netscape"],
        ),
        (
            format!("{EVENTS}?os_name={}", encode(script)),
            400,
            vec!["os_name"],
        ),
        (
            format!("{EVENTS}?device_type=%FF%FE"),
            400,
            vec!["device_type"],
        ),
        // Unknown dashboard, tab, model: 404 naming it.
        (
            "/dashboards/no_such_board/events".into(),
            404,
            vec!["no_such_board"],
        ),
        (
            "/dashboards/browser_events/no_such_tab".into(),
            404,
            vec!["no_such_tab"],
        ),
        ("/models/no_such_model".into(), 404, vec!["no_such_model"]),
    ];
    for (path, status, names) in &cases {
        let r = get(&url(path), &[]);
        check_answer(&f, path, &r, *status, names);
        // A value from the URL shown back is escaped, never markup.
        f.check(!r.body.contains(script), || {
            format!("{path}: reflects {script} unescaped")
        });
    }

    // Whatever else a URL holds, never a server error.
    for path in [
        "/no/such/page".to_string(),
        "/models/".to_string(),
        format!("{EVENTS}?from="),
        format!("{EVENTS}?from=2024-05-02&to=2024-05-01"),
        format!("{EVENTS}?from=2024-05-01&from=2024-05-02"),
        format!("{EVENTS}?from=9999-99-99"),
        format!("{EVENTS}?%FF=1"),
        format!("{EVENTS}?browser_name"),
        format!("{EVENTS}?{}", "browser_name=a&".repeat(500)),
        "/lineage?select=%40%40%40".to_string(),
        "/lineage?select=no_such_model".to_string(),
        format!("/lineage?select={}", encode(injection)),
        format!("/models/{}", encode(injection)),
        format!("/dashboards/{}/events", encode("../../etc/passwd")),
    ] {
        let r = get(&url(&path), &[]);
        f.check((200..500).contains(&r.status), || {
            format!("{path}: a server error: {}", r.summary())
        });
    }
    server.assert_running();
    f.finish();
}

#[test]
fn auth_token_guards_every_page() {
    let h = sample_lake();
    let token = "t0ken-5ecret-for-tests";
    let bearer = format!("Bearer {token}");
    let f = Findings::default();
    {
        let mut server = Server::start(&h, &["--auth-token", token], &[]);
        let url = |path: &str| server.url(path);
        for path in [
            "/",
            EVENTS,
            "/lineage",
            "/runs",
            "/models/top_performing_products",
            "/models/no_such_model",
            "/no/such/page",
        ] {
            let r = get(&url(path), &[]);
            check_answer(&f, &format!("{path} without a token"), &r, 401, &[]);
            f.check(!r.body.contains(token), || {
                format!("{path}: the 401 shows the token")
            });
            let r = get(&url(path), &[("Authorization", "Bearer wrong")]);
            check_answer(
                &f,
                &format!("{path} with a wrong bearer token"),
                &r,
                401,
                &[],
            );
        }
        let r = get(&url(&format!("{EVENTS}?token=wrong")), &[]);
        check_answer(&f, "?token=wrong", &r, 401, &[]);

        // The bearer header.
        let r = get(&url("/"), &[("Authorization", &bearer)]);
        check_answer(&f, "/ with the bearer token", &r, 303, &[]);
        for path in [EVENTS, "/lineage", "/runs"] {
            let r = get(&url(path), &[("Authorization", &bearer)]);
            check_answer(&f, &format!("{path} with the bearer token"), &r, 200, &[]);
        }

        // `?token=` once, then the cookie it set.
        let r = get(&url(&format!("{EVENTS}?token={token}")), &[]);
        f.check(r.status == 200 || r.status == 303, || {
            format!("{EVENTS}?token=<right>: {}", r.summary())
        });
        let cookies = r.headers_named("set-cookie");
        let cookie: Vec<&str> = cookies
            .iter()
            .map(|c| c.split(';').next().unwrap().trim())
            .collect();
        let cookie = cookie.join("; ");
        if f.check(!cookie.is_empty(), || {
            format!("?token= set no cookie: {}", r.summary())
        }) {
            for path in [
                EVENTS,
                "/runs",
                "/lineage",
                "/models/top_performing_products",
            ] {
                let r = get(&url(path), &[("Cookie", &cookie)]);
                check_answer(&f, &format!("{path} with the cookie"), &r, 200, &[]);
            }
        }
        let r = get(&url("/runs"), &[("Cookie", "lake_token=wrong")]);
        check_answer(&f, "/runs with a wrong cookie", &r, 401, &[]);
        server.assert_running();
        f.check(!server.logs().contains(token), || {
            format!("lake serve prints the token:\n{}", server.logs())
        });
    }

    // The same from the environment.
    let mut server = Server::start(&h, &[], &[("LAKE_SERVE_TOKEN", token)]);
    let r = get(&server.url(EVENTS), &[]);
    check_answer(&f, "LAKE_SERVE_TOKEN, no token sent", &r, 401, &[]);
    let r = get(&server.url(EVENTS), &[("Authorization", &bearer)]);
    check_answer(&f, "LAKE_SERVE_TOKEN, bearer token", &r, 200, &[]);
    server.assert_running();
    f.finish();
}

/// Cron's hourly run, from another process, while `lake serve` answers.
#[test]
fn a_run_while_serving_succeeds_and_pages_follow_the_snapshots() {
    let h = Lakehouse::new(Lake::Embedded).with_committed_sample();
    h.schedule_ok("hourly");
    let before = Marts::copy(&h)
        .number("select sum(cnt) from events_distribution_hourly")
        .unwrap();
    // Three more hours arrive for the run to load.
    h.generate(3, 3, &[]);

    let mut server = Server::start(&h, &[], &[]);
    let page = |path: &str| get(&server.url(path), &[]);
    let total_now = || {
        let r = page(EVENTS);
        assert_eq!(r.status, 200, "{}", r.summary());
        events_total(&r).unwrap_or_else(|| panic!("no events_total: {}", r.summary()))
    };
    assert_eq!(total_now(), before, "before the run");

    let vars = h.vars("7 days");
    let run = h
        .command(&["run", "--schedule", "hourly", "--vars", &vars])
        .spawn()
        .unwrap();
    let pid = run.id();
    // Drain the run's output while polling (a full pipe would stall it).
    let output = std::thread::spawn(move || run.wait_with_output().unwrap());
    let tabs = ["events", "products", "conversions", "campaigns", "users"];
    let (mut answered, mut seen) = (0, Vec::new());
    let start = Instant::now();
    while !output.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the run (pid {pid}) takes too long"
        );
        let tab = tabs[answered % tabs.len()];
        let r = page(&format!("/dashboards/browser_events/{tab}"));
        assert_eq!(r.status, 200, "{tab} during the run: {}", r.summary());
        if tab == "events" {
            seen.push(events_total(&r).expect("events_total"));
        }
        answered += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = output.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the hourly run failed while serving:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    assert!(answered > 0, "no page was asked for during the run");
    eprintln!("{answered} pages answered during the run; events_total seen: {seen:?}");

    // Afterwards: a fresh independent count; during the run the page
    // showed the previous snapshot or this one, never a half-written mart.
    let fresh = Marts::copy(&h)
        .number("select sum(cnt) from events_distribution_hourly")
        .unwrap();
    assert!(
        fresh > before,
        "the run loaded nothing new: {before} -> {fresh}"
    );
    for total in &seen {
        assert!(
            *total == before || *total == fresh,
            "during the run the page said {total}: neither {before} (before) nor {fresh} (after)"
        );
    }
    // The page follows the new snapshot.
    let start = Instant::now();
    loop {
        let total = total_now();
        if total == fresh {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "after the run the page still says {total}, the lake {fresh}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.assert_running();
    let status = server.stop();
    assert!(status.is_some(), "lake serve ignored SIGTERM");
}

/// The tiny client itself, on canned answers and a throwaway server.
#[test]
fn http_client_reads_length_chunked_and_closed_bodies() {
    let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi").unwrap();
    assert_eq!(
        (r.status, r.body.as_str(), r.header("X-A")),
        (200, "hi", Some("b"))
    );
    let r = parse_response(
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!((r.status, r.body.as_str()), (400, "abcde"));
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi").is_err());
    assert_eq!(encode("x' OR 1=1 --"), "x%27%20OR%201%3D1%20--");

    let base = static_server(|path| {
        format!("HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1; HttpOnly\r\nSet-Cookie: b=2\r\n\r\nno {path}")
            .into_bytes()
    });
    let r = get(&format!("{base}x?y=1"), &[("Cookie", "a=1")]);
    assert_eq!((r.status, r.body.as_str()), (404, "no /x?y=1"));
    assert_eq!(r.headers_named("set-cookie"), ["a=1; HttpOnly", "b=2"]);
    let page = Response {
        status: 200,
        headers: vec![],
        body: r#"<section class="chart" id="chart-events_total"><h3>t</h3><output class="kpi-value" data-value="1234">1,234</output></section>"#.into(),
    };
    assert_eq!(events_total(&page), Some(1234.0));
}
