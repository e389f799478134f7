//! Synthetic browser events in the source system's shape, deterministic
//! from a seed: the demo data, the committed sample and the end-to-end
//! tests all come from here. Each hour has its own random stream (seed and
//! hour), so generating hours 7-8 alone gives the same files as generating
//! 1-8 at once.
//!
//! One row per page view in every dimension, consistent across them:
//! browser and location rows share `event_id`, device and geo rows the
//! session's `click_id`. Sessions stay inside their hour, and a
//! `/confirmation` is only reached from `/payment` after at least one
//! product view since the session's previous confirmation.

use std::io::Write;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::landing::{Hour, DIMS};

/// The products on sale; a view of `/product_<name>` adds one to the cart.
pub const PRODUCTS: &[&str] = &[
    "laptop",
    "phone",
    "headphones",
    "keyboard",
    "mouse",
    "monitor",
    "camera",
    "watch",
    "tablet",
    "speaker",
    "charger",
    "backpack",
    "lamp",
    "chair",
    "desk",
    "printer",
    "router",
    "drone",
    "console",
    "earbuds",
];

/// How much data to make.
#[derive(Debug, Clone, Copy)]
pub struct Volume {
    /// Seed of every random choice.
    pub seed: u64,
    /// Sessions starting in each hour (page views are ~6x this).
    pub sessions_per_hour: usize,
}

/// One hour of events: JSON lines per dimension, in [`DIMS`] order.
pub struct HourEvents {
    /// The hour.
    pub hour: Hour,
    /// `lines[d]` are the rows of `DIMS[d]`.
    pub lines: Vec<Vec<String>>,
}

const BROWSERS: &[(&str, &str)] = &[
    ("Chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"),
    ("Firefox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    ("Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"),
    ("Edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0"),
];
const LANGUAGES: &[&str] = &["en-US", "de-DE", "fr-FR", "es-ES", "pl-PL"];
const DEVICES: &[(&str, &str, &str)] = &[
    ("Windows 11", "Windows", "desktop"),
    ("macOS 14", "macOS", "desktop"),
    ("Ubuntu 24.04", "Linux", "desktop"),
    ("iOS 17", "iOS", "mobile"),
    ("Android 14", "Android", "mobile"),
    ("iPadOS 17", "iOS", "tablet"),
];
const PLACES: &[(&str, &str, &str, f64, f64)] = &[
    ("Germany", "Europe/Berlin", "Bavaria", 48.14, 11.58),
    ("France", "Europe/Paris", "Ile-de-France", 48.86, 2.35),
    ("Poland", "Europe/Warsaw", "Masovia", 52.23, 21.01),
    (
        "United States",
        "America/New_York",
        "New York",
        40.71,
        -74.01,
    ),
    ("Spain", "Europe/Madrid", "Madrid", 40.42, -3.70),
];
const CHANNELS: &[(&str, &str, &str, &str)] = &[
    // referer_url, referer_medium, utm_medium, utm_source
    ("https://www.google.com/", "search", "cpc", "google"),
    ("https://www.facebook.com/", "social", "social", "facebook"),
    ("https://mail.example.com/", "email", "email", "newsletter"),
    ("https://www.bing.com/", "search", "organic", "bing"),
];
const CAMPAIGNS: &[&str] = &["spring_sale", "summer_sale", "brand", "retargeting"];
const SITE: &str = "https://shop.example.com";
const USERS: u64 = 5_000;

fn uuid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// The pages one session visits, in order.
fn browse(rng: &mut ChaCha8Rng) -> Vec<String> {
    let views = rng.random_range(2..=14);
    let mut pages = Vec::with_capacity(views);
    let mut page = if rng.random_bool(0.3) {
        format!("/product_{}", pick(rng, PRODUCTS))
    } else {
        "/home".to_string()
    };
    let mut in_cart = 0;
    for _ in 0..views {
        if page.starts_with("/product_") {
            in_cart += 1;
        }
        if page == "/confirmation" {
            in_cart = 0;
        }
        pages.push(page.clone());
        let r: f64 = rng.random();
        page = match page.as_str() {
            "/cart" if in_cart > 0 && r < 0.6 => "/payment".into(),
            "/cart" if r < 0.8 => format!("/product_{}", pick(rng, PRODUCTS)),
            "/payment" if in_cart > 0 && r < 0.8 => "/confirmation".into(),
            "/payment" => "/cart".into(),
            p if p.starts_with("/product_") && r < 0.5 => {
                format!("/product_{}", pick(rng, PRODUCTS))
            }
            p if p.starts_with("/product_") && r < 0.8 => "/cart".into(),
            "/home" | "/confirmation" if r < 0.6 => format!("/product_{}", pick(rng, PRODUCTS)),
            "/home" | "/confirmation" if r < 0.8 => "/cart".into(),
            _ => "/home".into(),
        };
    }
    pages
}

/// Generates one hour of all four dimensions.
pub fn generate_hour(hour: Hour, volume: Volume) -> HourEvents {
    let hour_seed = (hour.year() as u64) << 24
        | (hour.month() as u64) << 16
        | (hour.day() as u64) << 8
        | hour.hour() as u64;
    let mut rng =
        ChaCha8Rng::seed_from_u64(volume.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hour_seed);
    let mut lines = vec![Vec::new(); DIMS.len()];
    for _ in 0..volume.sessions_per_hour {
        let click_id = uuid(&mut rng);
        let (browser_name, agent) = *pick(&mut rng, BROWSERS);
        let language = *pick(&mut rng, LANGUAGES);
        let (os, os_name, device_type) = *pick(&mut rng, DEVICES);
        let (country, geo_tz, region, lat, lon) = *pick(&mut rng, PLACES);
        let user = rng.random_range(0..USERS);
        let user_domain_id = {
            let mut user_rng = ChaCha8Rng::seed_from_u64(volume.seed ^ user);
            uuid(&mut user_rng)
        };
        let ip = format!(
            "{}.{}.{}.{}",
            rng.random_range(11..=223),
            rng.random_range(0..=255),
            rng.random_range(0..=255),
            rng.random_range(1..=254)
        );
        let (geo_lat, geo_lon) = (
            lat + rng.random_range(-0.5..0.5),
            lon + rng.random_range(-0.5..0.5),
        );
        let (referer_url, referer_medium, utm_medium, utm_source) = *pick(&mut rng, CHANNELS);
        let utm_campaign = *pick(&mut rng, CAMPAIGNS);
        let utm_content = format!("ad_{}", rng.random_range(1..=12));
        let mut at = hour
            .checked_add(jiff::SignedDuration::from_millis(
                rng.random_range(0..2_400_000),
            ))
            .expect("inside the hour");
        for (n, path) in browse(&mut rng).into_iter().enumerate() {
            if n > 0 {
                at = at
                    .checked_add(jiff::SignedDuration::from_millis(
                        rng.random_range(5_000..60_000),
                    ))
                    .expect("inside the hour");
            }
            let event_id = uuid(&mut rng);
            let ts = at.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string();
            lines[0].push(
                json!({
                    "event_id": event_id, "event_timestamp": ts, "event_type": "page_view",
                    "click_id": click_id, "browser_name": browser_name,
                    "browser_user_agent": agent, "browser_language": language,
                })
                .to_string(),
            );
            lines[1].push(
                json!({
                    "click_id": click_id, "os": os, "os_name": os_name, "os_timezone": geo_tz,
                    "device_type": device_type, "device_is_mobile": device_type != "desktop",
                    "user_custom_id": format!("user_{user}"), "user_domain_id": user_domain_id,
                })
                .to_string(),
            );
            lines[2].push(
                json!({
                    "click_id": click_id, "geo_latitude": format!("{geo_lat:.4}"),
                    "geo_longitude": format!("{geo_lon:.4}"), "geo_country": country,
                    "geo_timezone": geo_tz, "geo_region_name": region, "ip_address": ip,
                })
                .to_string(),
            );
            lines[3].push(
                json!({
                    "event_id": event_id, "page_url": format!("{SITE}{path}"),
                    "page_url_path": path, "referer_url": referer_url,
                    "referer_medium": referer_medium, "utm_medium": utm_medium,
                    "utm_source": utm_source, "utm_content": utm_content,
                    "utm_campaign": utm_campaign,
                })
                .to_string(),
            );
        }
    }
    HourEvents { hour, lines }
}

/// Writes `lines` as the single entry `<dim>.jsonl` of a zip file at `dest`.
pub fn write_zip(dim: &str, lines: &[String], dest: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(dest)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // A fixed entry time keeps the archive byte-for-byte deterministic.
        .last_modified_time(zip::DateTime::default());
    zip.start_file(format!("{dim}.jsonl"), options)
        .map_err(std::io::Error::other)?;
    for line in lines {
        zip.write_all(line.as_bytes())?;
        zip.write_all(b"\n")?;
    }
    zip.finish().map_err(std::io::Error::other)?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour() -> Hour {
        crate::landing::parse_hour("2024-05-01T03").unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_hour() {
        let v = Volume {
            seed: 7,
            sessions_per_hour: 20,
        };
        assert_eq!(
            generate_hour(hour(), v).lines,
            generate_hour(hour(), v).lines
        );
        let other = Volume { seed: 8, ..v };
        assert_ne!(
            generate_hour(hour(), v).lines,
            generate_hour(hour(), other).lines
        );
    }

    #[test]
    fn every_dimension_has_one_row_per_page_view_and_confirmations_follow_products() {
        let h = generate_hour(
            hour(),
            Volume {
                seed: 1,
                sessions_per_hour: 300,
            },
        );
        let n = h.lines[0].len();
        assert!(n >= 600, "{n}");
        assert!(h.lines.iter().all(|d| d.len() == n));
        let mut since = std::collections::HashMap::<String, u32>::new();
        let mut confirmations = 0;
        for (b, l) in h.lines[0].iter().zip(&h.lines[3]) {
            let b: serde_json::Value = serde_json::from_str(b).unwrap();
            let l: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(b["event_id"], l["event_id"]);
            let ts = b["event_timestamp"].as_str().unwrap();
            assert!(ts.starts_with("2024-05-01T03:"), "{ts}");
            let session = b["click_id"].as_str().unwrap().to_string();
            let path = l["page_url_path"].as_str().unwrap();
            let count = since.entry(session).or_default();
            if path.starts_with("/product_") {
                *count += 1;
            } else if path == "/confirmation" {
                assert!(*count > 0, "a confirmation without a product view");
                *count = 0;
                confirmations += 1;
            }
        }
        assert!(confirmations > 10, "{confirmations}");
    }
}
