//! Snapshots pin what lake printed, not where this machine keeps its temp
//! folders or which port a server got: insta filters put a placeholder in
//! place of each such value, the same way in every test file.

/// insta settings with a placeholder for each value of this machine or
/// run, applied in the order they were added (add the longer, more
/// specific values first: a source folder before the project holding it).
pub struct Placeholders {
    settings: insta::Settings,
}

impl Default for Placeholders {
    fn default() -> Self {
        Self::new()
    }
}

impl Placeholders {
    /// The current insta settings, with no placeholder yet.
    pub fn new() -> Self {
        Placeholders {
            settings: insta::Settings::clone_current(),
        }
    }

    /// Writes `placeholder` wherever `value` stands, as typed (an empty
    /// value is ignored: it would match everywhere).
    pub fn literal(mut self, value: &str, placeholder: &str) -> Self {
        if !value.is_empty() {
            self.settings.add_filter(&escape(value), placeholder);
        }
        self
    }

    /// Writes `placeholder` wherever the regular expression `pattern`
    /// matches (`$1` and the like refer to its groups).
    pub fn pattern(mut self, pattern: &str, placeholder: &str) -> Self {
        self.settings.add_filter(pattern, placeholder);
        self
    }

    /// Writes `[PROJECT]` for the project folder `root`, as given and as
    /// the canonical path lake may print instead.
    pub fn project(self, root: &std::path::Path) -> Self {
        let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        self.literal(&canonical.display().to_string(), "[PROJECT]")
            .literal(&root.display().to_string(), "[PROJECT]")
    }

    /// Writes `[T]s` for the seconds a run took (`0.42s`), and drops the
    /// `, queued 0.01s` a node waited for its turn, which comes and goes.
    pub fn durations(self) -> Self {
        self.pattern(r", queued \d+\.\d+s", "")
            .pattern(r"\b\d+\.\d+s\b", "[T]s")
    }

    /// Runs `check` (holding the snapshot assertions) with the placeholders.
    pub fn bind<R>(&self, check: impl FnOnce() -> R) -> R {
        self.settings.bind(check)
    }
}

/// `text` as a regular expression that matches exactly it.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
