//! profiles.yml as diagnostics may show it: every credential written in it
//! replaced by `*`s of the same length, so an error's source excerpt (which
//! quotes whole lines) can never print one, while every byte offset, and so
//! every error span, stays where it was.

/// Keys under `secrets:` that name or place a secret rather than hold it.
pub const SECRET_SETTINGS: &[&str] = &[
    "type",
    "name",
    "provider",
    "scope",
    "region",
    "endpoint",
    "url_style",
    "use_ssl",
    "persistent",
];

/// `source` with each credential's value masked: values of keys that name
/// one (`password`, `secret`, `token`, `key_id`), every value under a
/// `secrets:` list but its settings, and what follows `password=` in a
/// connection string. A value that only calls `env_var()` holds no secret.
pub fn masked(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut secrets_indent: Option<usize> = None;
    for line in source.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim_start_matches(' ');
        let item = content.trim_start_matches("- ");
        let key = item.split(':').next().unwrap_or_default().trim();
        if let Some(at) = secrets_indent {
            let inside = indent > at || (indent == at && content.starts_with("- "));
            if !inside && !content.trim().is_empty() {
                secrets_indent = None;
            }
        }
        let in_secrets = secrets_indent.is_some();
        if key == "secrets" {
            secrets_indent = Some(indent);
        }
        let lower = key.to_lowercase();
        let sensitive = (in_secrets && !SECRET_SETTINGS.contains(&lower.as_str()))
            || names_a_credential(&lower);
        out.push_str(&mask_line(line, sensitive && key != "secrets"));
    }
    out
}

/// Whether a key (lower case) names a credential: a password, secret,
/// token, private, access or encryption key, key file or key id.
pub fn names_a_credential(key: &str) -> bool {
    let words = [
        "password",
        "encryption_key",
        "secret",
        "token",
        "private_key",
        "access_key",
        "keyfile",
        "key_id",
    ];
    key != "secrets" && words.iter().any(|w| key.contains(w))
}

/// The line with its value masked (`whole`), else only the credentials
/// inside it (a connection string's `password=`, a token, a URL's).
fn mask_line(line: &str, whole: bool) -> String {
    let Some(colon) = line.find(':') else {
        return line.to_string();
    };
    let (head, value) = line.split_at(colon + 1);
    // Only a value that is nothing but `{{ env_var('NAME') }}` holds no
    // secret (a default, or text beside it, may be one).
    let unquoted = value.trim().trim_matches(['"', '\'']);
    let only_env_var = unquoted.starts_with("{{")
        && unquoted.ends_with("}}")
        && unquoted.matches("{{").count() == 1
        && !unquoted.contains(',');
    if only_env_var {
        return line.to_string();
    }
    if whole {
        return format!("{head}{}", stars(value));
    }
    // A connection string's or URL's password or token.
    let mut value = value.to_string();
    for credential in super::duckdb::path_credentials(&value) {
        value = value.replace(&credential, &"*".repeat(credential.len()));
    }
    format!("{head}{value}")
}

/// Every byte but surrounding whitespace and the line end made `*`.
fn stars(value: &str) -> String {
    let start = value.len() - value.trim_start().len();
    let end = value.trim_end().len();
    format!(
        "{}{}{}",
        &value[..start],
        "*".repeat(end.saturating_sub(start)),
        &value[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn credentials_are_starred_and_offsets_kept() {
        let source = "p:\n  outputs:\n    dev:\n      type: duckdb\n      motherduck_token: TOK999\n      path: \"ducklake:postgres:dbname=x password=PW77 host=h\"\n      secrets:\n        - type: s3\n          key_id: AKIA_1\n          secret: S_2\n          region: eu\n      password: \"{{ env_var('PW') }}\"\n      schema: dev\n";
        let m = masked(source);
        assert_eq!(m.len(), source.len());
        for secret in ["TOK999", "PW77", "AKIA_1", "S_2"] {
            assert!(!m.contains(secret), "{secret} in\n{m}");
        }
        for kept in [
            "type: s3",
            "region: eu",
            "env_var('PW')",
            "schema: dev",
            "host=h",
        ] {
            assert!(m.contains(kept), "{kept} lost in\n{m}");
        }
    }
}
