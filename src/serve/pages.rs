//! HTML: the templates and stylesheet compiled into the binary, rendered
//! with minijinja (autoescaped: names and values from the lake are text).

use std::sync::OnceLock;

use minijinja::{context, Environment, Value};

use super::site::Site;

const TEMPLATES: [(&str, &str); 6] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("lineage.html", include_str!("templates/lineage.html")),
    ("model.html", include_str!("templates/model.html")),
    ("runs.html", include_str!("templates/runs.html")),
    ("error.html", include_str!("templates/error.html")),
];
const CSS: &str = include_str!("templates/style.css");

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("the compiled-in templates parse (tested)");
        }
        env
    })
}

/// Renders `template` with `page` and what every page shows (header, status).
pub fn render(site: &Site, template: &str, page_title: &str, page: Value, extra: Value) -> String {
    let replica = site.replica();
    let nav: Vec<(String, String)> = site
        .dashboards
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.title.clone().unwrap_or_else(|| d.name.clone()),
            )
        })
        .collect();
    let ctx = context! {
        project => &site.project,
        page_title,
        css => CSS,
        nav_dashboards => nav,
        status => site.status(),
        snapshot => replica.as_ref().map(|r| r.snapshot),
        taken_at => replica.as_ref().map(|r| r.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()),
        page,
        ..extra
    };
    env()
        .get_template(template)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| format!("<!doctype html><p>page failed to render: {e}</p>"))
}

/// An error page.
pub fn error(site: &Site, heading: &str, message: &str) -> String {
    render(
        site,
        "error.html",
        heading,
        Value::UNDEFINED,
        context! { heading, message },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let env = super::env();
        for (name, _) in super::TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
